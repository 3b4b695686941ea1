/* SPDX-License-Identifier: MIT */
/* The egress proxy decides every connection by the host name it was asked
 * for, so the attacks here are spellings: one string that we read as an
 * allowed host and a resolver, a browser or a server reads as another
 * ("allowed.com@evil.com", "0x7f.1", "%2e", fullwidth digits, homographs).
 * The defence is one canonical form: every host is reduced to lowercase
 * ASCII (punycode), dotted-decimal IPv4 or inet_ntop IPv6 text before any
 * rule sees it, the reduction follows the WHATWG URL host parser where it
 * has a choice, and anything that does not reduce cleanly is refused. The
 * proxy then connects to exactly the canonical text it decided on. */
#include "net/hostmatch.h"

#include <arpa/inet.h>
#include <errno.h>
#include <idn2.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "util/macro.h"

/* Longer than any host a client can mean (253 characters, each at most
 * three bytes percent-encoded); the cap keeps every buffer on the stack. */
#define HOST_INPUT_MAX 1024
/* Rules are echoed in messages up to this length, then "...". */
#define SHOWN_MAX 80

struct ip {
        int family; /* AF_INET or AF_INET6; 0 for a name */
        uint8_t b[16];
};

/* ASCII only: <ctype.h> follows the locale. */
static bool is_digit(char c) { return c >= '0' && c <= '9'; }
static bool is_alpha(char c) { return (c | 0x20) >= 'a' && (c | 0x20) <= 'z'; }
static bool is_hex(char c) { return is_digit(c) || ((c | 0x20) >= 'a' && (c | 0x20) <= 'f'); }
static int hex_val(char c) { return is_digit(c) ? c - '0' : (c | 0x20) - 'a' + 10; }
static bool all_digits(const char *s) { return *s && strspn(s, "0123456789") == strlen(s); }
static char to_lower(char c) { return c >= 'A' && c <= 'Z' ? (char)(c | 0x20) : c; }
static void idn2_freep(char **p) { idn2_free(*p); }
static int why(const char **ret_why, const char *reason) { *ret_why = reason; return -EINVAL; }

/* ---- names ----------------------------------------------------------------- */

/* UTS #46 as browsers do it, which also maps fullwidth digits and the
 * ideographic full stop to ASCII, so "１２７。０。０。１" is seen as the
 * address it is. Non-transitional first ("faß.de" is not "fass.de"), then
 * transitional for the few names only the older mapping accepts. */
static char *idna_to_ascii(const char *in)
{
        char *out = NULL;
        if (idn2_to_ascii_8z(in, &out, IDN2_NONTRANSITIONAL | IDN2_NFC_INPUT) != IDN2_OK &&
            idn2_to_ascii_8z(in, &out, IDN2_TRANSITIONAL) != IDN2_OK)
                return NULL;
        return out;
}

/* Reduces a DNS name to lowercase ASCII without the trailing dot and checks
 * it label by label. Only non-ASCII names go through libidn2: it refuses
 * real ASCII names such as "r3---sn-abc.googlevideo.com" (CheckHyphens), and
 * ASCII needs no mapping. Its result is checked here too, because without
 * STD3 rules it lets '/', '_' or '@' through. */
static int name_canonical(const char *in, char out[static HOSTMATCH_MAX_NAME + 1], const char **ret_why)
{
        _cleanup_(idn2_freep) char *converted = NULL;
        const char *s = in, *p;
        size_t len, label = 0;

        for (p = in; *p && (unsigned char)*p < 0x80; p++)
                ;
        if (*p && !(s = converted = idna_to_ascii(in)))
                return why(ret_why, "not a valid internationalised name");
        len = strlen(s);
        if (len > 0 && s[len - 1] == '.')
                len--; /* "example.com." is the same name, fully qualified */
        if (len == 0 || len > HOSTMATCH_MAX_NAME)
                return why(ret_why, len ? "longer than 253 characters" : "empty");
        for (size_t i = 0; i <= len; i++) {
                char c = out[i] = i < len ? to_lower(s[i]) : '.';
                if (c != '.' && !is_digit(c) && !is_alpha(c) && c != '-')
                        return why(ret_why, "host names are letters, digits, '-' and '.'");
                if (c != '.') {
                        label++;
                        continue;
                }
                if (label == 0 || label > 63)
                        return why(ret_why, label ? "a label is longer than 63 characters" : "a label is empty ('..')");
                if (out[i - 1] == '-' || out[i - label] == '-')
                        return why(ret_why, "a label starts or ends with '-'");
                label = 0;
        }
        out[len] = '\0';
        return 0;
}

/* WHATWG "ends in a number": a name whose last label is a number is an IPv4
 * address or nothing. Otherwise "example.0x7f" would be a name to us and an
 * address, or an error, to a browser. */
static bool ends_in_number(const char *name)
{
        const char *last = strrchr(name, '.');
        last = last ? last + 1 : name;
        if (last[0] == '0' && last[1] == 'x') /* "0x" alone is the number 0 */
                return strspn(last + 2, "0123456789abcdef") == strlen(last + 2);
        return all_digits(last);
}

/* One part of an inet_aton/WHATWG IPv4 address: 0x-hex, 0-octal or decimal.
 * Values above 2^32 fail at once, so a long part cannot overflow. */
static int ipv4_number(const char *s, size_t n, uint64_t *ret)
{
        unsigned base = n >= 2 && s[0] == '0' ? ((s[1] | 0x20) == 'x' ? 16 : 8) : 10;
        uint64_t v = 0;

        if (n == 0)
                return -EINVAL;
        for (size_t i = base == 16 ? 2 : base == 8 ? 1 : 0; i < n; i++) {
                unsigned d = is_digit(s[i]) ? (unsigned)(s[i] - '0') : is_hex(s[i]) ? (unsigned)hex_val(s[i]) : 99;
                if (d >= base || (v = v * base + d) > UINT32_MAX)
                        return -EINVAL;
        }
        *ret = v;
        return 0;
}

/* 1 to 4 parts; all but the last are one byte, the last fills the rest
 * ("127.1" is 127.0.0.1, and so is "2130706433"). */
static int ipv4_parse(const char *s, struct in_addr *ret)
{
        uint64_t parts[4], v;
        size_t n = 0;

        for (const char *p = s;; p++) {
                size_t len = strcspn(p, ".");
                if (n == 4 || ipv4_number(p, len, &parts[n++]) < 0)
                        return -EINVAL;
                if (!*(p += len))
                        break;
        }
        v = parts[n - 1];
        if (v >> (8 * (5 - n)))
                return -EINVAL;
        for (size_t i = 0; i + 1 < n; i++) {
                if (parts[i] > 255)
                        return -EINVAL;
                v |= parts[i] << (8 * (3 - i));
        }
        ret->s_addr = htonl((uint32_t)v);
        return 0;
}

/* ---- addresses ----------------------------------------------------------------- */

/* An IPv4-mapped address (::ffff:a.b.c.d) is that IPv4 address on a
 * dual-stack socket, so it is matched and classified as one: otherwise
 * "[::ffff:10.0.0.1]" would slip past "!10.0.0.0/8". */
static void ip_set(struct ip *ret, int family, const uint8_t *b)
{
        static const uint8_t mapped[12] = { [10] = 0xff, [11] = 0xff };
        if (family == AF_INET6 && memcmp(b, mapped, sizeof mapped) == 0)
                family = AF_INET, b += 12;
        ret->family = family;
        memcpy(ret->b, b, family == AF_INET ? 4 : 16);
}

static bool ip_from_sockaddr(const struct sockaddr *sa, struct ip *ret)
{
        if (sa && sa->sa_family == AF_INET)
                ip_set(ret, AF_INET, (const uint8_t *)&((const struct sockaddr_in *)sa)->sin_addr);
        else if (sa && sa->sa_family == AF_INET6)
                ip_set(ret, AF_INET6, ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr);
        else
                return false;
        return true;
}

static bool prefix_contains(const uint8_t *net, const uint8_t *a, unsigned prefix)
{
        size_t full = prefix / 8;
        uint8_t mask = (uint8_t)(0xff << (8 - prefix % 8));
        return memcmp(net, a, full) == 0 && (prefix % 8 == 0 || ((net[full] ^ a[full]) & mask) == 0);
}

/* The IPv4 address a packet to this IPv6 address ends up at: IPv4-compatible
 * (::/96), NAT64 (64:ff9b::/96, RFC 6052) and 6to4 (2002::/16, RFC 3056,
 * bits 16-47). */
static const uint8_t *embedded_v4(const struct ip *a)
{
        static const uint8_t nat64[12] = { 0x00, 0x64, 0xff, 0x9b }, compat[12];
        if (a->family != AF_INET6)
                return NULL;
        if (memcmp(a->b, compat, 12) == 0 || memcmp(a->b, nat64, 12) == 0)
                return a->b + 12;
        return a->b[0] == 0x20 && a->b[1] == 0x02 ? a->b + 2 : NULL;
}

static bool address_matches(const struct host_rule *r, const struct ip *a)
{
        const uint8_t *v4;
        struct ip net;

        if (!ip_from_sockaddr((const struct sockaddr *)&r->addr, &net))
                return false;
        if (net.family == a->family && prefix_contains(net.b, a->b, r->prefix))
                return true;
        /* A deny also holds against the IPv4 address inside NAT64, 6to4 and
         * compatible addresses: "!169.254.169.254" must stop
         * 64:ff9b::a9fe:a9fe even when an IPv6 rule allows that range. An
         * allow does not reach inside: those go through a translator the
         * rule's author did not name. */
        return r->deny && net.family == AF_INET && (v4 = embedded_v4(a)) && prefix_contains(net.b, v4, r->prefix);
}

/* The documentation ranges (192.0.2/24, 198.51.100/24, 203.0.113/24, and
 * 2001:db8::/32) are deliberately left public: nothing routes them, and the
 * tests and messages use them as "some public address". */
static const struct {
        uint32_t net;
        unsigned prefix;
        enum addr_class c;
} ranges4[] = {
        { 0x00000000, 8, ADDR_UNSPECIFIED },  /* "this network"; 0.0.0.0 reaches the local host */
        { 0x0a000000, 8, ADDR_PRIVATE },
        { 0x64400000, 10, ADDR_SHARED },
        { 0x7f000000, 8, ADDR_LOOPBACK },
        { 0xa9fe0000, 16, ADDR_LINK_LOCAL },  /* 169.254.169.254: cloud metadata */
        { 0xac100000, 12, ADDR_PRIVATE },
        { 0xc0000000, 24, ADDR_UNSPECIFIED }, /* IETF protocol assignments */
        { 0xc0a80000, 16, ADDR_PRIVATE },
        { 0xc6120000, 15, ADDR_UNSPECIFIED }, /* benchmarking; also local fake-IP DNS schemes */
        { 0xe0000000, 4, ADDR_MULTICAST },
        { 0xf0000000, 4, ADDR_UNSPECIFIED },  /* reserved, and 255.255.255.255 broadcast */
};

static enum addr_class classify4(const uint8_t b[4])
{
        uint32_t a = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
        for (size_t i = 0; i < ARRAY_SIZE(ranges4); i++)
                if (a >> (32 - ranges4[i].prefix) == ranges4[i].net >> (32 - ranges4[i].prefix))
                        return ranges4[i].c;
        return ADDR_PUBLIC;
}

static enum addr_class classify6(const struct ip *a)
{
        static const uint8_t loopback[16] = { [15] = 1 }, nat64_local[6] = { 0x00, 0x64, 0xff, 0x9b, 0x00, 0x01 };
        const uint8_t *b = a->b, *v4;

        if (memcmp(b, loopback, 16) == 0)
                return ADDR_LOOPBACK;
        if ((v4 = embedded_v4(a))) /* :: itself is 0.0.0.0: unspecified */
                return classify4(v4);
        /* Local-use NAT64 (64:ff9b:1::/48, RFC 8215) puts the IPv4 address
         * where the local prefix length says, which we cannot know. */
        if (memcmp(b, nat64_local, sizeof nat64_local) == 0)
                return ADDR_PRIVATE;
        if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80)
                return ADDR_LINK_LOCAL;
        if ((b[0] == 0xfe && (b[1] & 0xc0) == 0xc0) || (b[0] & 0xfe) == 0xfc)
                return ADDR_PRIVATE; /* fec0::/10 (deprecated site-local), fc00::/7 */
        if (b[0] == 0xff)
                return ADDR_MULTICAST;
        /* What is left outside 2000::/3 is unassigned or reserved (100::/64
         * discard-only...). */
        return (b[0] & 0xe0) == 0x20 ? ADDR_PUBLIC : ADDR_UNSPECIFIED;
}

enum addr_class addr_classify(const struct sockaddr *sa)
{
        struct ip a;
        if (!ip_from_sockaddr(sa, &a))
                return ADDR_UNSPECIFIED;
        return a.family == AF_INET ? classify4(a.b) : classify6(&a);
}

static const char *const class_names[ADDR_CLASS_MAX] = {
        [ADDR_PUBLIC] = "public",
        [ADDR_LOOPBACK] = "loopback",
        [ADDR_PRIVATE] = "private",
        [ADDR_LINK_LOCAL] = "link-local",
        [ADDR_SHARED] = "shared (carrier-grade NAT)",
        [ADDR_MULTICAST] = "multicast",
        [ADDR_UNSPECIFIED] = "unspecified or reserved",
};

const char *addr_class_name(enum addr_class c)
{
        return (unsigned)c < ADDR_CLASS_MAX && class_names[c] ? class_names[c] : "unknown";
}

/* ---- normalising what a client sent ------------------------------------------- */

/* Returns the host after the last '@', or NULL when the userinfo holds a
 * character that ends the authority in a URL: "evil.com#@allowed.com" is
 * evil.com to a browser, so it must not be allowed.com to us. */
static const char *skip_userinfo(const char *in)
{
        const char *at = strrchr(in, '@');
        if (!at)
                return in;
        for (const char *p = in; p < at; p++) {
                if (*p == '%' && is_hex(p[1]) && is_hex(p[2]))
                        p += 2;
                else if (!is_digit(*p) && !is_alpha(*p) && !strchr("-._~!$&'()*+,;=:@", *p))
                        return NULL;
        }
        return at + 1;
}

/* Decodes %XX once. The result is checked as a name afterwards, so "%2e%2e"
 * becomes ".." and fails, "%2525" becomes "%25" and fails; "%00" fails here
 * because it would cut every C string after it short. */
static int percent_decode(const char *in, char out[static HOST_INPUT_MAX])
{
        size_t o = 0;
        for (const char *p = in; *p; p++) {
                char c = *p;
                if (c == '%') {
                        if (!is_hex(p[1]) || !is_hex(p[2]))
                                return -EINVAL;
                        c = (char)(hex_val(p[1]) << 4 | hex_val(p[2]));
                        p += 2;
                }
                if (c == '\0' || o + 1 >= HOST_INPUT_MAX)
                        return -EINVAL;
                out[o++] = c;
        }
        out[o] = '\0';
        return 0;
}

/* "[::1]" or "::1". No percent-decoding and no zone ids ("%25eth0"):
 * inet_pton refuses both, as WHATWG does. */
static int ipv6_literal(const char *host, uint8_t ret[16])
{
        char buf[INET6_ADDRSTRLEN + 1];
        size_t len = strlen(host);
        bool br = host[0] == '[';

        if ((br && (len < 3 || host[len - 1] != ']')) || len - 2 * br >= sizeof buf)
                return -EINVAL;
        memcpy(buf, host + br, len - 2 * br);
        buf[len - 2 * br] = '\0';
        return inet_pton(AF_INET6, buf, ret) == 1 ? 0 : -EINVAL;
}

/* host_normalize, also handing the address to hostmatch_name. */
static int normalize(const char *in, char *out, size_t outsize, struct ip *ret_ip)
{
        char decoded[HOST_INPUT_MAX], name[HOSTMATCH_MAX_NAME + 1], text[INET6_ADDRSTRLEN];
        const char *host, *w, *res = text;
        uint8_t b[16];

        if (!in || !out || strnlen(in, HOST_INPUT_MAX) >= HOST_INPUT_MAX || !(host = skip_userinfo(in)) || !*host)
                return -EINVAL;
        ret_ip->family = 0;
        if (host[0] == '[' || strchr(host, ':')) {
                if (ipv6_literal(host, b) < 0)
                        return -EINVAL;
                inet_ntop(AF_INET6, b, text, sizeof text);
                ip_set(ret_ip, AF_INET6, b);
        } else if (percent_decode(host, decoded) < 0 || name_canonical(decoded, name, &w) < 0)
                return -EINVAL;
        else if (ends_in_number(name)) {
                if (ipv4_parse(name, (struct in_addr *)b) < 0)
                        return -EINVAL;
                inet_ntop(AF_INET, b, text, sizeof text);
                ip_set(ret_ip, AF_INET, b);
        } else
                res = name;
        if (strlen(res) >= outsize)
                return -ENOBUFS;
        strcpy(out, res);
        return 0;
}

int host_normalize(const char *in, char *out, size_t outsize, bool *ret_is_ip)
{
        struct ip ip;
        int r = normalize(in, out, outsize, &ip);
        if (r >= 0 && ret_is_ip)
                *ret_is_ip = ip.family != 0;
        return r;
}

/* ---- rules ---------------------------------------------------------------------- */

struct rule_ctx {
        const char *shown; /* the rule as written, control characters replaced */
        char *err;
        size_t errsize;
};

/* Every message starts with the rule as written: a profile may list dozens.
 * Only the rule (sanitised), digits and addresses from inet_ntop are ever
 * echoed, so a message stays one line whatever the rule holds. */
_printf_(2, 3) static int rule_fail(const struct rule_ctx *c, const char *fmt, ...)
{
        char msg[256];
        va_list ap;

        if (!c->err || c->errsize == 0)
                return -EINVAL;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof msg, fmt, ap);
        va_end(ap);
        snprintf(c->err, c->errsize, "'%s': %s", c->shown, msg);
        return -EINVAL;
}

static int parse_number(const struct rule_ctx *c, const char *p, unsigned min, unsigned max, const char *what,
                        unsigned *ret)
{
        unsigned long v = 0;

        if (!*p)
                return rule_fail(c, "the %s is missing; write a number from %u to %u", what, min, max);
        if (!all_digits(p))
                return rule_fail(c, "the %s is not a number; write one from %u to %u", what, min, max);
        for (const char *q = p; *q && v <= max; q++)
                v = v * 10 + (unsigned)(*q - '0');
        if (v < min || v > max)
                return rule_fail(c, "%s %s out of range (%u-%u)", what, p, min, max);
        *ret = (unsigned)v;
        return 0;
}

/* An IPv4 rule must be in dotted decimal: "010.0.0.1" is 8.0.0.1 to
 * inet_aton and 10.0.0.1 to a reader, so other forms are refused with the
 * address they really are. */
static int v4_rule_address(const struct rule_ctx *c, const char *s, uint8_t ret[4])
{
        char name[HOSTMATCH_MAX_NAME + 1], text[INET_ADDRSTRLEN];
        const char *w;
        struct in_addr a;

        if (inet_pton(AF_INET, s, ret) == 1)
                return 0;
        if (name_canonical(s, name, &w) < 0 || !ends_in_number(name) || ipv4_parse(name, &a) < 0)
                return rule_fail(c, "not a host name, address or CIDR: a name cannot end in a number, and an "
                                 "IPv4 address is four numbers 0-255 (10.0.0.1)");
        if (inet_pton(AF_INET, name, ret) == 1) /* fullwidth digits, a trailing dot */
                return 0;
        inet_ntop(AF_INET, &a, text, sizeof text);
        return rule_fail(c, "write the address in dotted decimal (%s)", text);
}

static int v6_rule_address(const struct rule_ctx *c, const char *s, bool bracketed, uint8_t ret[16])
{
        const char *colon = strrchr(s, ':');
        char head[INET6_ADDRSTRLEN];
        uint8_t tmp[16];

        if (strchr(s, '%'))
                return rule_fail(c, "zone ids (%%eth0) are not supported; write the address without one");
        if (inet_pton(AF_INET6, s, ret) == 1)
                return 0;
        if (!bracketed && colon && all_digits(colon + 1) && (size_t)(colon - s) < sizeof head) {
                snprintf(head, sizeof head, "%.*s", (int)(colon - s), s);
                if (inet_pton(AF_INET6, head, tmp) == 1)
                        return rule_fail(c, "an IPv6 address with a port needs brackets: write [%s]:%s", head,
                                         colon + 1);
        }
        return rule_fail(c, "not a valid IPv6 address; write it as 2001:db8::1, or [2001:db8::1]:443 with a port");
}

static int check_host_bits(const struct rule_ctx *c, int family, const uint8_t *b, unsigned prefix)
{
        uint8_t net[16] = { 0 };
        char text[INET6_ADDRSTRLEN];

        memcpy(net, b, prefix / 8);
        if (prefix % 8)
                net[prefix / 8] = (uint8_t)(b[prefix / 8] & (0xff << (8 - prefix % 8)));
        if (memcmp(net, b, family == AF_INET ? 4 : 16) == 0)
                return 0;
        inet_ntop(family, net, text, sizeof text);
        return rule_fail(c, "host bits are set; write %s/%u for the network, or the address alone for one host",
                         text, prefix);
}

static void set_address(struct host_rule *ret, int family, const uint8_t *b, unsigned prefix)
{
        struct ip a;

        ip_set(&a, family, b);
        /* "::ffff:10.0.0.0/104" is 10.0.0.0/8, the form mapped addresses are
         * matched in. Host bits already refused a mapped network under /96. */
        if (family == AF_INET6 && a.family == AF_INET)
                prefix -= 96;
        ret->kind = RULE_ADDRESS;
        ret->prefix = prefix;
        ret->addr.ss_family = (sa_family_t)a.family;
        if (a.family == AF_INET)
                memcpy(&((struct sockaddr_in *)&ret->addr)->sin_addr, a.b, 4);
        else
                memcpy(&((struct sockaddr_in6 *)&ret->addr)->sin6_addr, a.b, 16);
}

/* "addr" or "addr/prefix". */
static int parse_address(const struct rule_ctx *c, const char *s, int family, bool bracketed, struct host_rule *ret)
{
        const char *slash = strchr(s, '/'), *colon;
        unsigned prefix = family == AF_INET ? 32 : 128;
        char addr[HOSTMATCH_MAX_NAME + 1];
        uint8_t b[16];
        int r;

        if ((slash ? (size_t)(slash - s) : strlen(s)) >= sizeof addr)
                return rule_fail(c, "not a host name, address or CIDR: too long");
        snprintf(addr, sizeof addr, "%.*s", (int)(slash ? slash - s : (ptrdiff_t)strlen(s)), s);
        if ((r = family == AF_INET ? v4_rule_address(c, addr, b) : v6_rule_address(c, addr, bracketed, b)) < 0)
                return r;
        if (slash && family == AF_INET6 && !bracketed && (colon = strchr(slash, ':')) && all_digits(colon + 1) &&
            strspn(slash + 1, "0123456789") == (size_t)(colon - slash - 1))
                return rule_fail(c, "an IPv6 CIDR with a port needs brackets: write [%.*s]:%s", (int)(colon - s), s,
                                 colon + 1);
        if ((slash && (r = parse_number(c, slash + 1, 0, prefix, "prefix length", &prefix)) < 0) ||
            (r = check_host_bits(c, family, b, prefix)) < 0)
                return r;
        set_address(ret, family, b, prefix);
        return 0;
}

static int parse_wildcard(const struct rule_ctx *c, const char *s, struct host_rule *ret)
{
        const char *w;

        if (strcmp(s, "*") == 0)
                return rule_fail(c, "a wildcard over every host is not a rule; name the domains (*.example.com)");
        if (strncmp(s, "*.", 2) != 0 || strchr(s + 2, '*'))
                return rule_fail(c, "'*' may only be the whole leftmost label, as in *.example.com");
        if (name_canonical(s + 2, ret->name, &w) < 0)
                return rule_fail(c, "not a host name, address or CIDR: %s", w);
        if (ends_in_number(ret->name))
                return rule_fail(c, "a wildcard does not cover addresses; write a CIDR such as 10.0.0.0/8");
        /* "*.com" would be a whole top-level domain. Without a public suffix
         * list, two labels is the line we can draw ("*.co.uk" still passes). */
        if (!strchr(ret->name, '.'))
                return rule_fail(c, "a wildcard needs at least two labels after '*.' (*.example.com)");
        ret->kind = RULE_WILDCARD;
        return 0;
}

/* A name, a wildcard, or IPv4 with an optional prefix; the port is gone. */
static int parse_host(const struct rule_ctx *c, const char *s, struct host_rule *ret)
{
        const char *w;

        if (strchr(s, '/'))
                return parse_address(c, s, AF_INET, false, ret);
        if (strchr(s, '*'))
                return parse_wildcard(c, s, ret);
        if (name_canonical(s, ret->name, &w) < 0)
                return rule_fail(c, "not a host name, address or CIDR: %s", w);
        if (ends_in_number(ret->name)) {
                ret->name[0] = '\0';
                return parse_address(c, s, AF_INET, false, ret);
        }
        ret->kind = RULE_EXACT;
        return 0;
}

/* "[v6]", "[v6]:port", "[v6/prefix]:port" or "[v6]/prefix:port". */
static int parse_bracketed(const struct rule_ctx *c, const char *s, struct host_rule *ret)
{
        const char *close = strchr(s, ']'), *p;
        char inner[sizeof ret->text];
        unsigned port;
        int r;

        if (!close)
                return rule_fail(c, "missing ']' after the IPv6 address; write [2001:db8::1]:443");
        snprintf(inner, sizeof inner, "%.*s", (int)(close - s - 1), s + 1);
        p = close + 1;
        if (*p == '/') { /* "[fd00::]/8:443": the prefix joins the address */
                size_t len = strcspn(p, ":");
                if (strlen(inner) + len < sizeof inner)
                        strncat(inner, p, len);
                p += len;
        }
        if (*p == ':') {
                if ((r = parse_number(c, p + 1, 1, 65535, "port", &port)) < 0)
                        return r;
                ret->port = (uint16_t)port;
        } else if (*p)
                return rule_fail(c, "unexpected text after ']'; write [2001:db8::1]:443");
        return parse_address(c, inner, AF_INET6, true, ret);
}

int hostrule_parse(const char *text, struct host_rule *ret, char *err, size_t errsize)
{
        char shown[SHOWN_MAX + 4], host[sizeof ret->text];
        struct rule_ctx c = { shown, err, errsize };
        const char *s, *colon;
        unsigned port;
        size_t n;
        int r;

        memset(ret, 0, sizeof *ret);
        text = text ? text : "";
        n = strnlen(text, sizeof ret->text);
        for (size_t i = 0; i < n && i < SHOWN_MAX; i++)
                shown[i] = (unsigned char)text[i] < 0x20 || text[i] == 0x7f ? '?' : text[i];
        strcpy(shown + (n < SHOWN_MAX ? n : SHOWN_MAX), n > SHOWN_MAX ? "..." : "");
        if (n >= sizeof ret->text)
                return rule_fail(&c, "longer than %zu characters", sizeof ret->text - 1);
        memcpy(ret->text, text, n + 1);
        s = text;
        if (*s == '!')
                ret->deny = true, s++;
        if (!*s)
                return rule_fail(&c, "empty rule; write a host name (example.com), a wildcard (*.example.com), "
                                 "an address or a CIDR");
        if (strstr(s, "://"))
                return rule_fail(&c, "write the host alone, without a scheme or path (example.com)");
        if (*s == '[')
                return parse_bracketed(&c, s, ret);
        colon = strchr(s, ':');
        if (colon && strchr(colon + 1, ':'))
                return parse_address(&c, s, AF_INET6, false, ret);
        snprintf(host, sizeof host, "%.*s", (int)(colon ? colon - s : (ptrdiff_t)n), s);
        if (colon) {
                if ((r = parse_number(&c, colon + 1, 1, 65535, "port", &port)) < 0)
                        return r;
                ret->port = (uint16_t)port;
        }
        return parse_host(&c, host, ret);
}

/* ---- deciding --------------------------------------------------------------------- */

static bool port_matches(const struct host_rule *r, uint16_t port)
{
        if (r->port)
                return r->port == port;
        /* A deny without a port closes every port: "!bad.example.com" must
         * not leave bad.example.com:8443 open to "*.example.com:8443". */
        return r->deny || port == 80 || port == 443;
}

static bool name_matches(const struct host_rule *r, const char *host)
{
        size_t hl = strlen(host), sl = strlen(r->name);

        if (r->kind == RULE_EXACT)
                return strcmp(host, r->name) == 0;
        /* a.example.com and a.b.example.com; never example.com itself, nor
         * badexample.com, nor example.com.evil.net. */
        return r->kind == RULE_WILDCARD && hl > sl + 1 && host[hl - sl - 1] == '.' &&
               strcmp(host + hl - sl, r->name) == 0;
}

/* An IP literal is decided by address rules alone: no name rule matches
 * "127.0.0.1", not even "localhost". */
static const struct host_rule *find_rule(const struct host_rule *rules, size_t n, bool deny, const char *host,
                                         const struct ip *ip, uint16_t port)
{
        for (size_t i = 0; i < n; i++) {
                const struct host_rule *r = &rules[i];
                bool hit = r->kind == RULE_ADDRESS ? ip->family && address_matches(r, ip)
                                                   : !ip->family && name_matches(r, host);
                if (hit && r->deny == deny && port_matches(r, port))
                        return r;
        }
        return NULL;
}

enum match_result hostmatch_name(const struct host_rule *rules, size_t n, const char *host, uint16_t port,
                                 const struct host_rule **ret_rule)
{
        char norm[HOSTMATCH_MAX_NAME + 1];
        const struct host_rule *r;
        struct ip ip;

        if (ret_rule)
                *ret_rule = NULL;
        /* A host not in normalised form is refused, not normalised here: the
         * caller connects to the text it passed, so that must be the text
         * decided on. */
        if (!host || normalize(host, norm, sizeof norm, &ip) < 0 || strcmp(norm, host) != 0)
                return MATCH_NONE;
        for (int deny = 1; deny >= 0; deny--) /* any deny wins over every allow */
                if ((r = find_rule(rules, n, deny, norm, &ip, port))) {
                        if (ret_rule)
                                *ret_rule = r;
                        return deny ? MATCH_DENY : MATCH_ALLOW;
                }
        return MATCH_NONE;
}

bool hostmatch_address_ok(const struct host_rule *rules, size_t n, const struct sockaddr *sa, uint16_t port)
{
        struct ip a;

        if (!ip_from_sockaddr(sa, &a) || find_rule(rules, n, true, NULL, &a, port))
                return false;
        return addr_classify(sa) == ADDR_PUBLIC || find_rule(rules, n, false, NULL, &a, port);
}
