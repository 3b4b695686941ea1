/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "net/http.h"
#include "tap.h"

static struct http_request req;
static struct http_response resp;

/* Test names are single TAP lines: show CR, LF and other bytes escaped. */
static const char *show(const char *s)
{
        static char out[128];
        size_t o = 0;
        for (; *s && o + 5 < sizeof out; s++) {
                unsigned char c = (unsigned char)*s;
                if (c == '\r' || c == '\n')
                        o += (size_t)snprintf(out + o, sizeof out - o, "%s", c == '\r' ? "\\r" : "\\n");
                else if (c < 0x20 || c >= 0x7f)
                        o += (size_t)snprintf(out + o, sizeof out - o, "\\x%02x", c);
                else
                        out[o++] = (char)c;
        }
        out[o] = '\0';
        return out;
}

static int parse(const char *s) { return http_parse_request(s, strlen(s), &req); }
static int parse_resp(const char *s, bool head) { return http_parse_response(s, strlen(s), head, &resp); }

static void test_requests(void)
{
        const char *get = "GET http://Example.com:8080/a/b?x=1&y=2#frag HTTP/1.1\r\n"
                          "Host: example.com:8080\r\nUser-Agent: t\r\n\r\nBODY";
        tap_is_int(parse(get), HTTP_OK, "absolute-form GET parses");
        tap_is_int(req.kind, HTTP_METHOD_OTHER, "GET kind");
        tap_is_str(req.method, "GET", "method");
        tap_is_str(req.host, "Example.com", "host as sent");
        tap_is_int(req.port, 8080, "explicit port");
        tap_is_str(req.path, "/a/b?x=1&y=2", "path with query, fragment dropped");
        tap_is_str(req.host_header, "example.com:8080", "Host header value");
        tap_is_int(req.version_minor, 1, "version");
        tap_ok(req.keep_alive, "1.1 keeps alive by default");
        tap_is_int(req.content_length, -1, "no Content-Length");
        tap_is_int(req.head_len, strlen(get) - 4, "head_len stops at the blank line");

        tap_is_int(parse("HEAD https://example.com HTTP/1.0\r\n\r\n"), HTTP_OK, "https HEAD parses");
        tap_is_int(req.kind, HTTP_METHOD_HEAD, "HEAD kind");
        tap_ok(req.https_scheme, "https scheme");
        tap_is_int(req.port, 443, "https default port");
        tap_is_str(req.path, "/", "empty path becomes /");
        tap_ok(!req.keep_alive, "1.0 closes by default");
        tap_is_int(parse("GET HTTP://h?q HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n"), HTTP_OK, "query only");
        tap_is_str(req.path, "/?q", "query-only path gets a /");
        tap_is_int(req.port, 80, "http default port");
        tap_ok(req.keep_alive, "1.0 with keep-alive");
        tap_is_int(parse("GET http://h/ HTTP/1.1\r\nProxy-Connection: close\r\n\r\n"), HTTP_OK, "Proxy-Connection");
        tap_ok(!req.keep_alive, "Proxy-Connection: close honoured");
        tap_is_int(parse("GET http://u:p@a@evil.example/x HTTP/1.1\r\n\r\n"), HTTP_OK, "userinfo accepted");
        tap_is_str(req.host, "evil.example", "host is after the last @");
        tap_is_int(parse("GET http://[2001:db8::1]:81/ HTTP/1.1\r\n\r\n"), HTTP_OK, "IPv6 literal");
        tap_is_str(req.host, "2001:db8::1", "IPv6 without brackets");
        tap_is_int(parse("POST http://h/ HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n"), HTTP_OK,
                   "repeated identical Content-Length");
        tap_is_int(req.content_length, 5, "Content-Length value");
        tap_is_int(parse("POST http://h/ HTTP/1.1\r\nTransfer-Encoding: gzip,  Chunked\r\n\r\n"), HTTP_OK,
                   "chunked last");
        tap_ok(req.chunked, "chunked flag");

        tap_is_int(parse("CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n"), HTTP_OK, "CONNECT");
        tap_is_int(req.kind, HTTP_METHOD_CONNECT, "CONNECT kind");
        tap_is_str(req.host, "example.com", "CONNECT host");
        tap_is_int(req.port, 443, "CONNECT port");
        tap_is_str(req.path, "", "CONNECT has no path");
        tap_is_int(parse("CONNECT [::1]:8443 HTTP/1.1\r\n\r\n"), HTTP_OK, "CONNECT IPv6");
        tap_is_str(req.host, "::1", "CONNECT IPv6 host without brackets");
        tap_is_int(req.port, 8443, "CONNECT IPv6 port");

        static const char *const bad[] = {
                "GET /x HTTP/1.1\r\nHost: h\r\n\r\n",                                  /* origin-form */
                "OPTIONS * HTTP/1.1\r\n\r\n",                                          /* asterisk-form */
                "GET ftp://h/ HTTP/1.1\r\n\r\n",                                       /* scheme */
                "GET http:/h/ HTTP/1.1\r\n\r\n",
                "GET http:///x HTTP/1.1\r\n\r\n",                                      /* empty host */
                "GET http://h:0/ HTTP/1.1\r\n\r\n",                                    /* port 0 */
                "GET http://h:65536/ HTTP/1.1\r\n\r\n",
                "GET http://h:/ HTTP/1.1\r\n\r\n",
                "GET http://h:8a/ HTTP/1.1\r\n\r\n",
                "GET http://evil\\@good/ HTTP/1.1\r\n\r\n",                            /* WHATWG '\' */
                "GET http://[::1/ HTTP/1.1\r\n\r\n",
                "GET http://[evil]/ HTTP/1.1\r\n\r\n",
                "GET http://h/ HTTP/2.0\r\n\r\n",
                "GET http://h/ HTTP/1.1 \r\n\r\n",
                "GET  http://h/ HTTP/1.1\r\n\r\n",
                "G(T http://h/ HTTP/1.1\r\n\r\n",                                      /* non-token method */
                "ABCDEFGHIJKLMNOP http://h/ HTTP/1.1\r\n\r\n",                         /* 16-byte method */
                "GET http://h/\x7f HTTP/1.1\r\n\r\n",
                "CONNECT example.com HTTP/1.1\r\n\r\n",                                /* no port */
                "CONNECT ::1:443 HTTP/1.1\r\n\r\n",                                    /* unbracketed v6 */
                "CONNECT u@h:443 HTTP/1.1\r\n\r\n",
                "CONNECT h:443/x HTTP/1.1\r\n\r\n",
                "CONNECT h:443 HTTP/1.1\r\nContent-Length: 3\r\n\r\n",
                "POST http://h/ HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
                "POST http://h/ HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n",
                "POST http://h/ HTTP/1.1\r\nContent-Length: 1, 1\r\n\r\n",            /* lists refused */
                "POST http://h/ HTTP/1.1\r\nContent-Length: +1\r\n\r\n",
                "POST http://h/ HTTP/1.1\r\nContent-Length: \r\n\r\n",
                "POST http://h/ HTTP/1.1\r\nContent-Length: 99999999999999999999\r\n\r\n",
                "POST http://h/ HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n",
                "POST http://h/ HTTP/1.1\r\nTransfer-Encoding: chunked, gzip\r\n\r\n",
                "POST http://h/ HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
                "POST http://h/ HTTP/1.1\r\nTransfer-Encoding: xchunked\r\n\r\n",
                "POST http://h/ HTTP/1.1\r\nTransfer-Encoding: chunked;x=1\r\n\r\n",
                "POST http://h/ HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n",
                "GET http://h/ HTTP/1.1\r\nX-A: 1\r\n folded\r\n\r\n",                  /* obs-fold */
                "GET http://h/ HTTP/1.1\r\n\tX-A: 1\r\n\r\n",
                "GET http://h/ HTTP/1.1\r\nContent-Length : 5\r\n\r\n",              /* space before colon */
                "GET http://h/ HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n",              /* duplicate Host */
                "GET http://h/ HTTP/1.1\r\nX-A: 1\nX-B: 2\r\n\r\n",                    /* bare LF */
                "GET http://h/ HTTP/1.1\r\nX-A: 1\rX-B: 2\r\n\r\n",                    /* bare CR */
                "GET http://h/ HTTP/1.1\n\n",
                "GET http://h/ HTTP/1.1\r\nX-A: \x01\r\n\r\n",
                "GET http://h/ HTTP/1.1\r\nNoColon\r\n\r\n",
                "GET http://h/ HTTP/1.1\r\n: empty\r\n\r\n",
                "GET http://h/ HTTP/1.1\r\nConnection: a b\r\n\r\n",
                "\r\nGET http://h/ HTTP/1.1\r\n\r\n",                                  /* leading CRLF */
        };
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
                tap_is_int(parse(bad[i]), HTTP_BAD, "refused: %s", show(bad[i]));
        char nul[] = "GET http://h/ HTTP/1.1\r\nX-A: a\0b\r\n\r\n";
        tap_is_int(http_parse_request(nul, sizeof nul - 1, &req), HTTP_BAD, "NUL in a header refused");

        /* Every strict prefix of a valid request is incomplete, never BAD. */
        const char *full = "POST http://example.com/p?q HTTP/1.1\r\nHost: example.com\r\n"
                           "Content-Length: 3\r\nConnection: keep-alive\r\n\r\n";
        size_t flen = strlen(full), wrong = 0;
        for (size_t i = 0; i < flen; i++)
                if (http_parse_request(full, i, &req) != HTTP_INCOMPLETE)
                        wrong++;
        tap_is_int(wrong, 0, "all %zu prefixes are INCOMPLETE", flen);
        tap_is_int(http_parse_request(full, flen, &req), HTTP_OK, "the full head is OK");

        size_t big = 20 * 1024;
        char *b = malloc(big + 1);
        size_t o = (size_t)snprintf(b, big, "GET http://h/ HTTP/1.1\r\n");
        while (o + 16 < big)
                o += (size_t)snprintf(b + o, big - o, "X-Pad: 0123456\r\n");
        tap_is_int(http_parse_request(b, o, &req), HTTP_TOO_LARGE, "20 KiB head without end: TOO_LARGE");
        memcpy(b + o, "\r\n", 3);
        tap_is_int(http_parse_request(b, o + 2, &req), HTTP_TOO_LARGE, "20 KiB complete head: TOO_LARGE");
        /* A path longer than req.path within a legal head. */
        o = (size_t)snprintf(b, big, "GET http://h/");
        memset(b + o, 'a', 9000);
        o += 9000;
        o += (size_t)snprintf(b + o, big - o, " HTTP/1.1\r\n\r\n");
        tap_is_int(http_parse_request(b, o, &req), HTTP_TOO_LARGE, "path over 8 KiB: TOO_LARGE");
        free(b);
}

static void test_rewrite(void)
{
        char out[4096];
        const char *in = "GET http://user@example.com:8080/p?q=1 HTTP/1.0\r\n"
                         "Host: other.example\r\n"
                         "Accept: */*\r\n"
                         "Proxy-Connection: keep-alive\r\n"
                         "Proxy-Authorization: Basic eA==\r\n"
                         "Keep-Alive: 300\r\n"
                         "Connection: X-Secret, Transfer-Encoding\r\n"
                         "X-Secret: 1\r\n"
                         "Upgrade: websocket\r\n"
                         "TE: trailers\r\n"
                         "Content-Length: 2\r\n"
                         "Content-Length: 2\r\n"
                         "X-Last: z\r\n\r\nhi";
        tap_is_int(parse(in), HTTP_OK, "rewrite input parses");
        ssize_t n = http_rewrite_request(in, &req, true, out, sizeof out);
        tap_ok(n > 0 && (size_t)n == strlen(out), "rewrite length");
        tap_is_str(out,
                   "GET /p?q=1 HTTP/1.1\r\n"
                   "Host: example.com:8080\r\n"
                   "Accept: */*\r\n"
                   "X-Last: z\r\n"
                   "Content-Length: 2\r\n"
                   "Connection: keep-alive\r\n\r\n",
                   "rewrite: origin-form, one Host, hop-by-hop dropped, order kept");
        tap_ok(http_rewrite_request(in, &req, true, out, 40) == -ENOSPC, "rewrite: -ENOSPC");

        const char *ch = "POST https://[::1]/u HTTP/1.1\r\nConnection: transfer-encoding\r\n"
                         "Transfer-Encoding: chunked\r\n\r\n";
        tap_is_int(parse(ch), HTTP_OK, "chunked POST parses");
        n = http_rewrite_request(ch, &req, false, out, sizeof out);
        tap_is_str(out,
                   "POST /u HTTP/1.1\r\nHost: [::1]\r\nTransfer-Encoding: chunked\r\n"
                   "Connection: close\r\n\r\n",
                   "rewrite keeps Transfer-Encoding even when Connection names it");
        tap_is_int(parse("CONNECT h:1 HTTP/1.1\r\n\r\n"), HTTP_OK, "CONNECT for rewrite");
        tap_is_int(http_rewrite_request("CONNECT h:1 HTTP/1.1\r\n\r\n", &req, true, out, sizeof out), -EINVAL,
                   "rewrite refuses CONNECT");
}

static void test_responses(void)
{
        tap_is_int(parse_resp("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n", true), HTTP_OK, "HEAD response");
        tap_ok(resp.no_body && !resp.until_close && resp.keep_alive, "HEAD: no body, keep-alive");
        tap_is_int(parse_resp("HTTP/1.1 204 No Content\r\n\r\n", false), HTTP_OK, "204");
        tap_ok(resp.no_body && resp.status == 204, "204 has no body");
        tap_is_int(parse_resp("HTTP/1.1 304 Not Modified\r\nContent-Length: 7\r\n\r\n", false), HTTP_OK, "304");
        tap_ok(resp.no_body, "304 has no body");
        tap_is_int(parse_resp("HTTP/1.1 100 Continue\r\n\r\n", false), HTTP_OK, "100");
        tap_ok(resp.no_body, "1xx has no body");
        tap_is_int(parse_resp("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", false), HTTP_OK,
                   "chunked");
        tap_ok(resp.chunked && !resp.no_body && !resp.until_close && resp.keep_alive, "chunked framing");
        tap_is_int(parse_resp("HTTP/1.1 200 OK\r\nContent-Length: 42\r\nConnection: close\r\n\r\n", false), HTTP_OK,
                   "CL");
        tap_ok(resp.content_length == 42 && !resp.chunked && !resp.until_close && !resp.keep_alive,
               "CL framing, Connection: close");
        tap_is_int(parse_resp("HTTP/1.0 200 OK\r\n\r\n", false), HTTP_OK, "no framing");
        tap_ok(resp.until_close && !resp.keep_alive, "until_close");
        tap_is_int(parse_resp("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", false), HTTP_OK, "TE gzip");
        tap_ok(resp.until_close && !resp.keep_alive, "TE without chunked: until_close");
        tap_is_int(parse_resp("HTTP/1.1 404\r\nContent-Length: 0\r\n\r\n", false), HTTP_OK, "no reason phrase");
        tap_is_int(resp.status, 404, "status");
        tap_is_int(parse_resp("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n", false),
                   HTTP_BAD, "response CL+TE refused");
        tap_is_int(parse_resp("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", false), HTTP_BAD,
                   "response differing CL refused");
        tap_is_int(parse_resp("HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", false), HTTP_BAD,
                   "1.0 response with TE refused");
        tap_is_int(parse_resp("HTTP/1.1 2000 OK\r\n\r\n", false), HTTP_BAD, "4-digit status refused");
        tap_is_int(parse_resp("HTTP/1.1 099 X\r\n\r\n", false), HTTP_BAD, "status < 100 refused");
        tap_is_int(parse_resp("HTTP/1.1 200 OK\r\nX: 1\r\n", false), HTTP_INCOMPLETE, "response incomplete");
}

static const char chunked_body[] = "4;name=\"v\"\r\nWiki\r\n"
                                   "5 ;x\r\npedia\r\n"
                                   "00E\r\n in\r\n\r\nchunks.\r\n"
                                   "0;last\r\n"
                                   "Expires: never\r\nX-T:\r\n"
                                   "\r\n";

static void test_chunks(void)
{
        char buf[512];
        size_t blen = sizeof chunked_body - 1;
        const char *next = "HTTP/1.1 200 OK\r\n\r\n";
        snprintf(buf, sizeof buf, "%s%s", chunked_body, next);
        size_t total = strlen(buf);

        struct chunk_state st = { 0 };
        tap_is_int(chunk_feed(&st, buf, total), blen, "all at once stops at the message end");
        tap_ok(st.done, "done");
        tap_is_int(chunk_feed(&st, next, strlen(next)), 0, "nothing more once done");

        st = (struct chunk_state){ 0 };
        size_t consumed = 0, i;
        for (i = 0; i < total && !st.done; i++) {
                ssize_t r = chunk_feed(&st, buf + i, 1);
                if (r < 0)
                        break;
                consumed += (size_t)r;
        }
        tap_ok(st.done && consumed == blen && i == blen, "byte by byte stops at the message end");

        /* Split at every point into two feeds. */
        size_t bad_splits = 0;
        for (size_t s = 0; s <= total; s++) {
                st = (struct chunk_state){ 0 };
                ssize_t a = chunk_feed(&st, buf, s);
                ssize_t b = a < 0 ? -1 : chunk_feed(&st, buf + a, total - (size_t)a);
                if (a < 0 || b < 0 || (size_t)(a + b) != blen || !st.done)
                        bad_splits++;
        }
        tap_is_int(bad_splits, 0, "every two-way split frames the same");

        static const char *const bad[] = {
                "\r\n",                                /* no size */
                "x\r\n",
                "-1\r\n",
                "0x5\r\n",
                "+5\r\n",
                "4\nWiki\r\n0\r\n\r\n",               /* bare LF after size */
                "4\r\nWikiX\r\n",                     /* data not followed by CRLF */
                "4\r\nWiki\n0\r\n\r\n",
                "4 5\r\n",                            /* whitespace then not ';' */
                "4;a\nb\r\n",                         /* bare LF in an extension */
                "0\r\n folded: x\r\n\r\n",             /* obs-fold in trailers */
                "0\r\nBad Name: x\r\n\r\n",
                "0\r\nX: a\nY: b\r\n\r\n",
                "0\r\n\rX",
                "10000000000000001\r\n",              /* > 2^62 */
                "4000000000000001\r\n",
        };
        for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
                st = (struct chunk_state){ 0 };
                tap_is_int(chunk_feed(&st, bad[k], strlen(bad[k])), -1, "malformed chunks: %s", show(bad[k]));
        }
        st = (struct chunk_state){ 0 };
        tap_is_int(chunk_feed(&st, "4000000000000000\r\n", 18), 18, "2^62 itself is accepted");
        st = (struct chunk_state){ 0 };
        tap_is_int(chunk_feed(&st, "0000000000000000000000001\r\nx\r\n0\r\n\r\n", 35), 35, "leading zeros");
        st = (struct chunk_state){ 0 };
        chunk_feed(&st, "zz", 2);
        tap_is_int(chunk_feed(&st, "0\r\n\r\n", 5), -1, "errors are sticky");
}

static void test_socks(void)
{
        struct socks_request s;
        const uint8_t g[] = { 5, 2, 2, 0, 0xff };
        tap_is_int(socks_parse_greeting(g, 5), 4, "greeting with no-auth");
        tap_is_int(socks_parse_greeting(g, 3), 0, "greeting incomplete");
        tap_is_int(socks_parse_greeting(g, 0), 0, "greeting empty");
        tap_is_int(socks_parse_greeting((const uint8_t[]){ 5, 1, 2 }, 3), -1, "greeting without no-auth");
        tap_is_int(socks_parse_greeting((const uint8_t[]){ 4, 1, 0 }, 3), -1, "greeting bad version");
        tap_is_int(socks_parse_greeting((const uint8_t[]){ 4 }, 1), -1, "bad version seen early");
        tap_is_int(socks_parse_greeting((const uint8_t[]){ 5, 0 }, 2), -1, "zero methods");

        const uint8_t v4[] = { 5, 1, 0, 1, 93, 184, 216, 34, 0x01, 0xbb, 0xee };
        tap_is_int(socks_parse_request(v4, sizeof v4, &s), HTTP_OK, "IPv4 request");
        tap_ok(s.cmd == 1 && s.atyp == SOCKS_IPV4 && s.port == 443 && s.len == 10, "IPv4 fields");
        tap_is_str(s.host, "93.184.216.34", "IPv4 text");
        const uint8_t v6[] = { 5, 1, 0, 4, 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 80 };
        tap_is_int(socks_parse_request(v6, sizeof v6, &s), HTTP_OK, "IPv6 request");
        tap_ok(s.atyp == SOCKS_IPV6 && s.port == 80 && s.len == 22, "IPv6 fields");
        tap_is_str(s.host, "2001:db8::1", "IPv6 text");
        const uint8_t dn[] = { 5, 2, 0, 3, 11, 'e', 'x', 'a', 'm', 'p', 'l', 'e', '.', 'c', 'o', 'm', 0x1f, 0x90 };
        tap_is_int(socks_parse_request(dn, sizeof dn, &s), HTTP_OK, "domain request");
        tap_ok(s.cmd == 2 && s.atyp == SOCKS_DOMAIN && s.port == 8080 && s.len == sizeof dn, "domain fields");
        tap_is_str(s.host, "example.com", "domain text");

        size_t wrong = 0;
        const uint8_t *all[] = { v4, v6, dn };
        size_t lens[] = { 10, sizeof v6, sizeof dn };
        for (size_t k = 0; k < 3; k++)
                for (size_t i = 0; i < lens[k]; i++)
                        if (socks_parse_request(all[k], i, &s) != HTTP_INCOMPLETE)
                                wrong++;
        tap_is_int(wrong, 0, "every request prefix is INCOMPLETE");

        uint8_t x[sizeof dn];
        memcpy(x, dn, sizeof dn);
        x[8] = 0;
        tap_is_int(socks_parse_request(x, sizeof x, &s), HTTP_BAD, "domain with NUL");
        x[8] = 'm';
        x[0] = 4;
        tap_is_int(socks_parse_request(x, 1, &s), HTTP_BAD, "bad version");
        x[0] = 5;
        x[2] = 1;
        tap_is_int(socks_parse_request(x, sizeof x, &s), HTTP_BAD, "nonzero RSV");
        x[2] = 0;
        x[3] = 2;
        tap_is_int(socks_parse_request(x, sizeof x, &s), HTTP_BAD, "bad ATYP");
        x[3] = 3;
        x[4] = 0;
        tap_is_int(socks_parse_request(x, 5, &s), HTTP_BAD, "empty domain");
        const uint8_t p0[] = { 5, 1, 0, 1, 1, 2, 3, 4, 0, 0 };
        tap_is_int(socks_parse_request(p0, sizeof p0, &s), HTTP_BAD, "port 0");
}

int main(void)
{
        test_requests();
        test_rewrite();
        test_responses();
        test_chunks();
        test_socks();
        return tap_done();
}
