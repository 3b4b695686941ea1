/* SPDX-License-Identifier: MIT */
/* Every byte here comes from code we do not trust (the sandbox) or from a
 * server it chose. The parsers are deliberately stricter than RFC 9112
 * allows, because the attacks on a forwarding proxy are disagreements: the
 * proxy and the upstream server framing a body differently (request
 * smuggling), or the proxy deciding on one host and connecting to another
 * (host confusion). Where the RFC lets a recipient choose between tolerating
 * and rejecting, we reject. */
#include "net/http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

/* More options in Connection headers than any real client sends; the cap
 * lets http_rewrite_request keep them in a fixed array. */
#define MAX_CONN_OPTIONS 32
#define CHUNK_SIZE_MAX (UINT64_C(1) << 62)

static bool is_digit(unsigned char c) { return c >= '0' && c <= '9'; }
static bool is_alpha(unsigned char c) { return (c | 0x20) >= 'a' && (c | 0x20) <= 'z'; }
static bool is_hex(unsigned char c) { return is_digit(c) || ((c | 0x20) >= 'a' && (c | 0x20) <= 'f'); }
static bool is_ows(unsigned char c) { return c == ' ' || c == '\t'; }

/* RFC 9110 §5.6.2 tchar. */
static bool is_tchar(unsigned char c)
{
        return is_digit(c) || is_alpha(c) || (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* field-vchar, SP or HT: obs-text (0x80-0xff) passes, every other control
 * character (NUL, bare CR/LF, DEL...) does not. */
static bool is_field_char(unsigned char c) { return c == '\t' || (c >= 0x20 && c != 0x7f); }

/* RFC 3986 reg-name: unreserved, sub-delims and '%' of pct-encoded (the
 * hostmatch normaliser decodes and checks it). Anything else — '\\' in
 * particular, which WHATWG parsers read as '/' — is refused so that no
 * reading of the authority differs from ours. */
static bool is_regname_char(unsigned char c)
{
        return is_digit(c) || is_alpha(c) || (c && strchr("-._~!$&'()*+,;=%", c));
}

static bool is_token(const char *s, size_t n)
{
        for (size_t i = 0; i < n; i++)
                if (!is_tchar((unsigned char)s[i]))
                        return false;
        return n > 0;
}

/* ASCII-only case folding: strncasecmp would follow the locale. */
static bool eq_ci_n(const char *a, size_t an, const char *b, size_t bn)
{
        if (an != bn)
                return false;
        for (size_t i = 0; i < an; i++) {
                unsigned char x = (unsigned char)a[i], y = (unsigned char)b[i];
                if (is_alpha(x) ? (x | 0x20) != (y | 0x20) : x != y)
                        return false;
        }
        return true;
}

static bool eq_ci(const char *s, size_t n, const char *lit) { return eq_ci_n(s, n, lit, strlen(lit)); }

static bool starts_ci(const char *s, size_t n, const char *lit)
{
        size_t l = strlen(lit);
        return n >= l && eq_ci(s, l, lit);
}

/* Decimal digits only: no sign, no spaces, no "0x"; *ret <= max. */
static bool parse_decimal(const char *s, size_t n, uint64_t max, uint64_t *ret)
{
        uint64_t v = 0;
        if (n == 0)
                return false;
        for (size_t i = 0; i < n; i++) {
                if (!is_digit((unsigned char)s[i]))
                        return false;
                unsigned d = (unsigned)(s[i] - '0');
                if (v > (max - d) / 10)
                        return false;
                v = v * 10 + d;
        }
        *ret = v;
        return true;
}

/* Finds the blank line that ends a head. Line endings are CRLF only: a
 * bare LF or bare CR is a classic smuggling vector (one parser ends the line
 * there, the next one does not), and rejecting them early also means a
 * client that sends one gets a 400 instead of a hung connection. NUL is
 * refused for the same reason (C string functions stop at it). An empty
 * first line is refused too: RFC 9112 §2.2 lets servers skip leading CRLFs,
 * but nothing we serve sends them. */
static enum http_parse_result find_head_end(const char *buf, size_t len, size_t *ret_len)
{
        size_t lim = len < HTTP_MAX_HEAD ? len : HTTP_MAX_HEAD;

        for (size_t i = 0; i < lim; i++) {
                if (buf[i] == '\0')
                        return HTTP_BAD;
                if (buf[i] == '\r') {
                        if (i + 1 < len && buf[i + 1] != '\n')
                                return HTTP_BAD;
                } else if (buf[i] == '\n') {
                        if (i < 2 || buf[i - 1] != '\r')
                                return HTTP_BAD;
                        if (i >= 3 && buf[i - 2] == '\n') {
                                *ret_len = i + 1;
                                return HTTP_OK;
                        }
                }
        }
        return len >= HTTP_MAX_HEAD ? HTTP_TOO_LARGE : HTTP_INCOMPLETE;
}

/* Next line of a head that find_head_end accepted (so every LF follows a
 * CR); the line is returned without its CRLF, the blank line as n == 0. */
static bool next_line(const char *buf, size_t end, size_t *pos, const char **ret_line, size_t *ret_n)
{
        const char *p;
        if (*pos >= end || !(p = memchr(buf + *pos, '\n', end - *pos)) || p == buf + *pos)
                return false;
        *ret_line = buf + *pos;
        *ret_n = (size_t)(p - *ret_line) - 1;
        *pos = (size_t)(p - buf) + 1;
        return true;
}

/* Splits a field line into a token name and a value trimmed of OWS. The
 * name must touch the colon: "Content-Length : 5" is read as a different
 * header by some servers and as Content-Length by others (RFC 9112 §5.1
 * says reject). A line starting with whitespace is obs-fold, which must
 * not be forwarded (RFC 9112 §5.2) and is read inconsistently. */
static bool split_field(const char *line, size_t n, const char **ret_name, size_t *ret_nlen,
                        const char **ret_val, size_t *ret_vlen)
{
        size_t i = 0, b, e;
        while (i < n && is_tchar((unsigned char)line[i]))
                i++;
        if (i == 0 || i >= n || line[i] != ':')
                return false;
        for (size_t j = i + 1; j < n; j++)
                if (!is_field_char((unsigned char)line[j]))
                        return false;
        for (b = i + 1; b < n && is_ows((unsigned char)line[b]); b++)
                ;
        for (e = n; e > b && is_ows((unsigned char)line[e - 1]); e--)
                ;
        *ret_name = line;
        *ret_nlen = i;
        *ret_val = line + b;
        *ret_vlen = e - b;
        return true;
}

/* Next element of a comma-separated list, trimmed of OWS; empty elements
 * ("a,,b") come back with length 0. */
static bool next_elem(const char **p, const char *end, const char **ret, size_t *ret_n)
{
        if (*p > end)
                return false;
        const char *c = memchr(*p, ',', (size_t)(end - *p));
        const char *e = c ? c : end, *b = *p;
        *p = e + 1;
        while (b < e && is_ows((unsigned char)*b))
                b++;
        while (e > b && is_ows((unsigned char)e[-1]))
                e--;
        *ret = b;
        *ret_n = (size_t)(e - b);
        return true;
}

/* What the framing and connection headers said. */
struct fields {
        bool have_host, have_cl, have_te, te_chunked, conn_close, conn_keep_alive;
        unsigned n_conn_options;
        int64_t content_length;
};

static enum http_parse_result parse_fields(const char *buf, size_t *pos, size_t head_len, char *host_header,
                                           struct fields *f)
{
        const char *line, *name, *val, *el, *p;
        size_t n, nlen, vlen, elen;

        *f = (struct fields){ .content_length = -1 };
        while (next_line(buf, head_len, pos, &line, &n) && n > 0) {
                if (!split_field(line, n, &name, &nlen, &val, &vlen))
                        return HTTP_BAD;
                if (host_header && eq_ci(name, nlen, "host")) {
                        /* Two Host headers: the upstream may pick the
                         * other one. */
                        if (f->have_host || vlen >= 256)
                                return HTTP_BAD;
                        f->have_host = true;
                        memcpy(host_header, val, vlen);
                        host_header[vlen] = '\0';
                } else if (eq_ci(name, nlen, "content-length")) {
                        /* Digits only, no lists: "1, 1" is allowed by RFC
                         * 9110 §8.6 but parsed as 1, 11 or an error by
                         * different servers. Repeated lines must agree. */
                        uint64_t v;
                        if (!parse_decimal(val, vlen, INT64_MAX, &v))
                                return HTTP_BAD;
                        if (f->have_cl && f->content_length != (int64_t)v)
                                return HTTP_BAD;
                        f->have_cl = true;
                        f->content_length = (int64_t)v;
                } else if (eq_ci(name, nlen, "transfer-encoding")) {
                        /* Bare codings only (no parameters, whose quoted
                         * strings could hide commas), and chunked, if
                         * present, only once and last (RFC 9112 §6.1). */
                        f->have_te = true;
                        for (p = val; next_elem(&p, val + vlen, &el, &elen);) {
                                if (!is_token(el, elen) || f->te_chunked)
                                        return HTTP_BAD;
                                f->te_chunked = eq_ci(el, elen, "chunked");
                        }
                } else if (eq_ci(name, nlen, "connection") || eq_ci(name, nlen, "proxy-connection")) {
                        for (p = val; next_elem(&p, val + vlen, &el, &elen);) {
                                if (elen == 0)
                                        continue;
                                if (!is_token(el, elen) || ++f->n_conn_options > MAX_CONN_OPTIONS)
                                        return HTTP_BAD;
                                if (eq_ci(el, elen, "close"))
                                        f->conn_close = true;
                                else if (eq_ci(el, elen, "keep-alive"))
                                        f->conn_keep_alive = true;
                        }
                }
        }
        /* Both framings at once is the textbook smuggling request (RFC 9112
         * §6.3 lets a server prefer TE; a proxy that forwarded both would
         * leave the choice to the upstream). */
        if (f->have_cl && f->have_te)
                return HTTP_BAD;
        return HTTP_OK;
}

/* host[:port] with IPv6 in brackets; *ret_host gets the host without them.
 * default_port 0 means the port is required. Port 0 is refused everywhere:
 * to hostmatch it means "the default ports". */
static enum http_parse_result parse_host_port(const char *a, size_t n, uint16_t default_port, char *ret_host,
                                              size_t host_size, uint16_t *ret_port)
{
        const char *h = a, *rest;
        size_t hlen;
        uint64_t port;

        if (n > 0 && a[0] == '[') {
                const char *close = memchr(a, ']', n);
                if (!close)
                        return HTTP_BAD;
                h = a + 1;
                hlen = (size_t)(close - h);
                if (!memchr(h, ':', hlen))
                        return HTTP_BAD;
                for (size_t i = 0; i < hlen; i++)
                        if (!is_hex((unsigned char)h[i]) && h[i] != ':' && h[i] != '.')
                                return HTTP_BAD;
                rest = close + 1;
        } else {
                const char *colon = memchr(a, ':', n);
                hlen = colon ? (size_t)(colon - a) : n;
                for (size_t i = 0; i < hlen; i++)
                        if (!is_regname_char((unsigned char)h[i]))
                                return HTTP_BAD;
                rest = a + hlen;
        }
        if (hlen == 0 || hlen >= host_size)
                return HTTP_BAD;
        if (rest == a + n) {
                if (!default_port)
                        return HTTP_BAD;
                port = default_port;
        } else if (*rest != ':' || (size_t)(a + n - rest - 1) > 5 ||
                   !parse_decimal(rest + 1, (size_t)(a + n - rest - 1), 65535, &port) || port == 0)
                return HTTP_BAD;
        memcpy(ret_host, h, hlen);
        ret_host[hlen] = '\0';
        *ret_port = (uint16_t)port;
        return HTTP_OK;
}

/* absolute-form: http[s]://[userinfo@]host[:port][/path][?query][#frag]. */
static enum http_parse_result parse_absolute(const char *t, size_t n, struct http_request *req)
{
        size_t off, a_end, p_end, at = 0;

        if (starts_ci(t, n, "http://"))
                off = 7;
        else if (starts_ci(t, n, "https://"))
                off = 8, req->https_scheme = true;
        else
                return HTTP_BAD; /* origin-form, asterisk-form, other schemes */

        for (a_end = off; a_end < n && t[a_end] != '/' && t[a_end] != '?' && t[a_end] != '#'; a_end++) {
                unsigned char c = (unsigned char)t[a_end];
                if (!is_regname_char(c) && c != ':' && c != '@' && c != '[' && c != ']')
                        return HTTP_BAD;
                if (c == '@')
                        at = a_end + 1;
        }
        /* Userinfo ends at the last '@' (RFC 3986 forbids '@' inside it;
         * browsers take the last one). It is not forwarded. */
        if (at)
                off = at;
        enum http_parse_result r = parse_host_port(t + off, a_end - off, req->https_scheme ? 443 : 80, req->host,
                                                   sizeof req->host, &req->port);
        if (r != HTTP_OK)
                return r;

        /* The fragment is the client's business and never sent. */
        const char *hash = memchr(t + a_end, '#', n - a_end);
        p_end = hash ? (size_t)(hash - t) : n;
        size_t plen = p_end - a_end, lead = (plen == 0 || t[a_end] == '?') ? 1 : 0;
        if (lead + plen >= sizeof req->path)
                return HTTP_TOO_LARGE;
        req->path[0] = '/';
        memcpy(req->path + lead, t + a_end, plen);
        req->path[lead + plen] = '\0';
        return HTTP_OK;
}

/* METHOD SP request-target SP HTTP/1.x, single spaces. */
static enum http_parse_result parse_request_line(const char *line, size_t n, struct http_request *req)
{
        const char *sp1 = memchr(line, ' ', n), *t, *sp2;
        size_t mlen, tlen;

        if (!sp1)
                return HTTP_BAD;
        mlen = (size_t)(sp1 - line);
        if (mlen >= sizeof req->method || !is_token(line, mlen))
                return HTTP_BAD;
        t = sp1 + 1;
        sp2 = memchr(t, ' ', (size_t)(line + n - t));
        if (!sp2 || sp2 == t)
                return HTTP_BAD;
        tlen = (size_t)(sp2 - t);
        if ((size_t)(line + n - sp2 - 1) != 8 || memcmp(sp2 + 1, "HTTP/1.", 7) != 0 ||
            !is_digit((unsigned char)sp2[8]))
                return HTTP_BAD;
        req->version_minor = sp2[8] - '0';
        for (size_t i = 0; i < tlen; i++)
                if ((unsigned char)t[i] <= 0x20 || (unsigned char)t[i] >= 0x7f)
                        return HTTP_BAD;

        memcpy(req->method, line, mlen);
        req->method[mlen] = '\0';
        /* Methods are case-sensitive (RFC 9110 §9.1): "connect" is not
         * CONNECT, and then needs an absolute-form target. */
        if (strcmp(req->method, "CONNECT") == 0) {
                req->kind = HTTP_METHOD_CONNECT;
                /* authority-form has no userinfo, path or query. */
                for (size_t i = 0; i < tlen; i++)
                        if (t[i] == '@' || t[i] == '/' || t[i] == '?' || t[i] == '#')
                                return HTTP_BAD;
                return parse_host_port(t, tlen, 0, req->host, sizeof req->host, &req->port);
        }
        req->kind = strcmp(req->method, "HEAD") == 0 ? HTTP_METHOD_HEAD : HTTP_METHOD_OTHER;
        return parse_absolute(t, tlen, req);
}

enum http_parse_result http_parse_request(const char *buf, size_t len, struct http_request *ret)
{
        size_t head_len, pos = 0, n;
        const char *line;
        struct fields f;
        enum http_parse_result r;

        r = find_head_end(buf, len, &head_len);
        if (r != HTTP_OK)
                return r;
        memset(ret, 0, sizeof *ret);
        ret->content_length = -1;
        ret->head_len = head_len;
        if (!next_line(buf, head_len, &pos, &line, &n))
                return HTTP_BAD;
        r = parse_request_line(line, n, ret);
        if (r != HTTP_OK)
                return r;
        r = parse_fields(buf, &pos, head_len, ret->host_header, &f);
        if (r != HTTP_OK)
                return r;
        if (f.have_te) {
                /* A request body must be self-delimiting (RFC 9112 §6.3):
                 * a coding other than chunked last cannot be framed, and
                 * HTTP/1.0 has no Transfer-Encoding at all (§6.1). */
                if (!f.te_chunked || ret->version_minor == 0)
                        return HTTP_BAD;
                ret->chunked = true;
        }
        ret->content_length = f.content_length;
        /* CONNECT content has no defined meaning (RFC 9110 §9.3.6): we and
         * the client could disagree about where the tunnel starts. */
        if (ret->kind == HTTP_METHOD_CONNECT && (f.have_te || f.content_length > 0))
                return HTTP_BAD;
        ret->keep_alive = !f.conn_close && (ret->version_minor >= 1 || f.conn_keep_alive);
        return HTTP_OK;
}

static bool put(char *out, size_t size, size_t *o, const char *s, size_t n)
{
        if (n >= size - *o) /* keep room for the NUL */
                return false;
        memcpy(out + *o, s, n);
        *o += n;
        out[*o] = '\0';
        return true;
}

static bool put_str(char *out, size_t size, size_t *o, const char *s) { return put(out, size, o, s, strlen(s)); }

/* Hop-by-hop headers (RFC 9110 §7.6.1) and the ones we write ourselves. */
static bool dropped_always(const char *name, size_t n)
{
        static const char *const names[] = { "connection", "proxy-connection", "keep-alive",
                                             "proxy-authorization", "te", "trailer", "upgrade", "host",
                                             "content-length" };
        for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
                if (eq_ci(name, n, names[i]))
                        return true;
        return false;
}

ssize_t http_rewrite_request(const char *buf, const struct http_request *req, bool keep_alive, char *out,
                             size_t outsize)
{
        struct {
                const char *p;
                size_t n;
        } opts[MAX_CONN_OPTIONS];
        size_t n_opts = 0, pos = 0, o = 0, n, nlen, vlen, elen, fields_pos;
        const char *line, *name, *val, *el, *p;
        char tmp[300];

        if (req->kind == HTTP_METHOD_CONNECT || outsize == 0)
                return -EINVAL;
        if (!next_line(buf, req->head_len, &pos, &line, &n))
                return -EINVAL;
        fields_pos = pos;

        /* Options the client named in Connection are hop-by-hop too. */
        while (next_line(buf, req->head_len, &pos, &line, &n) && n > 0) {
                if (!split_field(line, n, &name, &nlen, &val, &vlen))
                        return -EINVAL;
                if (!eq_ci(name, nlen, "connection") && !eq_ci(name, nlen, "proxy-connection"))
                        continue;
                for (p = val; next_elem(&p, val + vlen, &el, &elen);) {
                        if (elen == 0)
                                continue;
                        if (n_opts == MAX_CONN_OPTIONS)
                                return -EINVAL;
                        opts[n_opts].p = el;
                        opts[n_opts++].n = elen;
                }
        }

        /* We speak HTTP/1.1 upstream whatever the client spoke (RFC 9110
         * §6.2: a proxy sends its own version). */
        if (!put_str(out, outsize, &o, req->method) || !put_str(out, outsize, &o, " ") ||
            !put_str(out, outsize, &o, req->path) || !put_str(out, outsize, &o, " HTTP/1.1\r\nHost: "))
                return -ENOSPC;
        /* Host is rebuilt from the target we decided on, never the client's
         * Host header (RFC 9112 §3.2.2), so the upstream cannot be told
         * about a different site than the one the policy allowed. */
        bool v6 = strchr(req->host, ':') != NULL;
        if ((req->https_scheme ? 443 : 80) != req->port)
                snprintf(tmp, sizeof tmp, "%s%s%s:%u\r\n", v6 ? "[" : "", req->host, v6 ? "]" : "", req->port);
        else
                snprintf(tmp, sizeof tmp, "%s%s%s\r\n", v6 ? "[" : "", req->host, v6 ? "]" : "");
        if (!put_str(out, outsize, &o, tmp))
                return -ENOSPC;

        for (pos = fields_pos; next_line(buf, req->head_len, &pos, &line, &n) && n > 0;) {
                if (!split_field(line, n, &name, &nlen, &val, &vlen))
                        return -EINVAL;
                if (dropped_always(name, nlen))
                        continue;
                /* "Connection: Transfer-Encoding" must not strip the
                 * framing we parsed the body by: the upstream would read
                 * the chunks as the next request. */
                bool drop = false;
                if (!eq_ci(name, nlen, "transfer-encoding"))
                        for (size_t i = 0; i < n_opts && !drop; i++)
                                drop = eq_ci_n(name, nlen, opts[i].p, opts[i].n);
                if (drop)
                        continue;
                if (!put(out, outsize, &o, line, n + 2))
                        return -ENOSPC;
        }
        if (req->content_length >= 0 && !req->chunked) {
                snprintf(tmp, sizeof tmp, "Content-Length: %lld\r\n", (long long)req->content_length);
                if (!put_str(out, outsize, &o, tmp))
                        return -ENOSPC;
        }
        if (!put_str(out, outsize, &o, keep_alive ? "Connection: keep-alive\r\n\r\n" : "Connection: close\r\n\r\n"))
                return -ENOSPC;
        return (ssize_t)o;
}

enum http_parse_result http_parse_response(const char *buf, size_t len, bool request_was_head,
                                           struct http_response *ret)
{
        size_t head_len, pos = 0, n;
        const char *line;
        struct fields f;
        enum http_parse_result r;

        r = find_head_end(buf, len, &head_len);
        if (r != HTTP_OK)
                return r;
        memset(ret, 0, sizeof *ret);
        ret->head_len = head_len;
        ret->content_length = -1;
        if (!next_line(buf, head_len, &pos, &line, &n))
                return HTTP_BAD;
        /* HTTP/1.x SP 3DIGIT [SP reason]; the reason may be empty and some
         * servers omit the space before it. */
        if (n < 12 || memcmp(line, "HTTP/1.", 7) != 0 || !is_digit((unsigned char)line[7]) || line[8] != ' ' ||
            !is_digit((unsigned char)line[9]) || !is_digit((unsigned char)line[10]) ||
            !is_digit((unsigned char)line[11]) || (n > 12 && line[12] != ' '))
                return HTTP_BAD;
        for (size_t i = 12; i < n; i++)
                if (!is_field_char((unsigned char)line[i]))
                        return HTTP_BAD;
        ret->version_minor = line[7] - '0';
        ret->status = (line[9] - '0') * 100 + (line[10] - '0') * 10 + (line[11] - '0');
        if (ret->status < 100 || ret->status > 599)
                return HTTP_BAD;

        r = parse_fields(buf, &pos, head_len, NULL, &f);
        if (r != HTTP_OK)
                return r;
        /* RFC 9112 §6.1: Transfer-Encoding in HTTP/1.0 means the framing is
         * faulty. */
        if (f.have_te && ret->version_minor == 0)
                return HTTP_BAD;
        ret->content_length = f.content_length;
        ret->chunked = f.te_chunked;
        ret->keep_alive = !f.conn_close && (ret->version_minor >= 1 || f.conn_keep_alive);

        /* RFC 9112 §6.3, in its order. */
        if (request_was_head || ret->status < 200 || ret->status == 204 || ret->status == 304)
                ret->no_body = true;
        else if (f.have_te && !f.te_chunked)
                ret->until_close = true;
        else if (!f.have_te && !f.have_cl)
                ret->until_close = true;
        if (ret->until_close)
                ret->keep_alive = false;
        return HTTP_OK;
}

enum {
        CH_SIZE_FIRST,    /* first hex digit of a chunk-size */
        CH_SIZE,          /* more digits, BWS, ';' or CR */
        CH_SIZE_BWS,      /* whitespace after the size: only ';' may follow */
        CH_EXT,           /* chunk-ext up to CR */
        CH_SIZE_LF,
        CH_DATA,
        CH_DATA_CR,
        CH_DATA_LF,
        CH_TRAILER_START, /* a trailer field, or the CR of the final CRLF */
        CH_TRAILER_NAME,
        CH_TRAILER_VALUE,
        CH_TRAILER_LF,
        CH_FINAL_LF,
        CH_DONE,
        CH_ERROR,
};

ssize_t chunk_feed(struct chunk_state *st, const char *buf, size_t len)
{
        size_t i = 0;

        while (i < len && st->state != CH_DONE && st->state != CH_ERROR) {
                unsigned char c = (unsigned char)buf[i];
                switch (st->state) {
                case CH_DATA: {
                        size_t take = len - i < st->remaining ? len - i : (size_t)st->remaining;
                        st->remaining -= take;
                        i += take;
                        if (st->remaining == 0)
                                st->state = CH_DATA_CR;
                        continue;
                }
                case CH_SIZE_FIRST:
                case CH_SIZE:
                        if (is_hex(c)) {
                                unsigned d = is_digit(c) ? c - '0' : (c | 0x20) - 'a' + 10;
                                if (st->remaining > (CHUNK_SIZE_MAX - d) >> 4)
                                        goto fail;
                                st->remaining = st->remaining * 16 + d;
                                st->state = CH_SIZE;
                        } else if (st->state == CH_SIZE_FIRST)
                                goto fail;
                        else if (c == '\r')
                                st->state = CH_SIZE_LF;
                        else if (c == ';')
                                st->state = CH_EXT;
                        else if (is_ows(c))
                                st->state = CH_SIZE_BWS;
                        else
                                goto fail;
                        break;
                case CH_SIZE_BWS:
                        if (c == ';')
                                st->state = CH_EXT;
                        else if (!is_ows(c))
                                goto fail;
                        break;
                case CH_EXT:
                        /* Extensions are passed on, not interpreted; only
                         * their end matters, and a bare LF in them is where
                         * lenient parsers disagree. */
                        if (c == '\r')
                                st->state = CH_SIZE_LF;
                        else if (!is_field_char(c))
                                goto fail;
                        break;
                case CH_DATA_CR:
                        if (c != '\r')
                                goto fail;
                        st->state = CH_DATA_LF;
                        break;
                case CH_SIZE_LF:
                case CH_DATA_LF:
                case CH_TRAILER_LF:
                case CH_FINAL_LF:
                        if (c != '\n')
                                goto fail;
                        st->state = st->state == CH_SIZE_LF    ? (st->remaining ? CH_DATA : CH_TRAILER_START)
                                    : st->state == CH_DATA_LF  ? CH_SIZE_FIRST
                                    : st->state == CH_TRAILER_LF ? CH_TRAILER_START
                                                               : CH_DONE;
                        st->done = st->state == CH_DONE;
                        break;
                case CH_TRAILER_START:
                        if (c == '\r')
                                st->state = CH_FINAL_LF;
                        else if (is_tchar(c))
                                st->state = CH_TRAILER_NAME;
                        else
                                goto fail; /* obs-fold or junk */
                        break;
                case CH_TRAILER_NAME:
                        if (c == ':')
                                st->state = CH_TRAILER_VALUE;
                        else if (!is_tchar(c))
                                goto fail;
                        break;
                case CH_TRAILER_VALUE:
                        if (c == '\r')
                                st->state = CH_TRAILER_LF;
                        else if (!is_field_char(c))
                                goto fail;
                        break;
                default:
                        goto fail;
                }
                i++;
        }
        if (st->state == CH_ERROR)
                return -1;
        return (ssize_t)i;
fail:
        st->state = CH_ERROR;
        return -1;
}

ssize_t socks_parse_greeting(const uint8_t *buf, size_t len)
{
        if (len >= 1 && buf[0] != 5)
                return -1;
        if (len >= 2 && buf[1] == 0)
                return -1;
        if (len < 2 || len < 2 + (size_t)buf[1])
                return 0;
        if (!memchr(buf + 2, 0x00, buf[1]))
                return -1;
        return 2 + (ssize_t)buf[1];
}

enum http_parse_result socks_parse_request(const uint8_t *buf, size_t len, struct socks_request *ret)
{
        size_t need, addr_len;

        /* Reject as soon as a bad byte is visible rather than waiting. */
        if ((len >= 1 && buf[0] != 5) || (len >= 3 && buf[2] != 0) ||
            (len >= 4 && buf[3] != SOCKS_IPV4 && buf[3] != SOCKS_DOMAIN && buf[3] != SOCKS_IPV6) ||
            (len >= 5 && buf[3] == SOCKS_DOMAIN && buf[4] == 0))
                return HTTP_BAD;
        if (len < 5)
                return HTTP_INCOMPLETE;
        addr_len = buf[3] == SOCKS_IPV4 ? 4 : buf[3] == SOCKS_IPV6 ? 16 : 1 + (size_t)buf[4];
        need = 4 + addr_len + 2;
        if (len < need)
                return HTTP_INCOMPLETE;

        memset(ret, 0, sizeof *ret);
        ret->cmd = buf[1];
        ret->atyp = (enum socks_atyp)buf[3];
        ret->len = need;
        ret->port = (uint16_t)(buf[need - 2] << 8 | buf[need - 1]);
        if (ret->port == 0) /* "the default ports" to hostmatch */
                return HTTP_BAD;
        if (buf[3] == SOCKS_DOMAIN) {
                /* A NUL would cut the name short in every C string
                 * function downstream. */
                if (memchr(buf + 5, 0, buf[4]))
                        return HTTP_BAD;
                memcpy(ret->host, buf + 5, buf[4]);
                ret->host[buf[4]] = '\0';
        } else if (!inet_ntop(buf[3] == SOCKS_IPV4 ? AF_INET : AF_INET6, buf + 4, ret->host, sizeof ret->host))
                return HTTP_BAD;
        return HTTP_OK;
}
