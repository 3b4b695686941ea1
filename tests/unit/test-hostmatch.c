/* SPDX-License-Identifier: MIT */
/* The egress policy core: every rule form and error, every spelling trick a
 * client can try on the normaliser, and the address classes. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "net/hostmatch.h"
#include "tap.h"

/* ---- helpers -------------------------------------------------------------- */

static void norm_is(const char *in, const char *want, bool want_ip)
{
        char out[256] = "";
        bool ip = !want_ip;
        int r = host_normalize(in, out, sizeof out, &ip);
        tap_ok(r == 0 && strcmp(out, want) == 0 && ip == want_ip, "normalize '%s' -> '%s'%s", in, want,
               want_ip ? " (ip)" : "");
        if (r != 0 || strcmp(out, want) != 0 || ip != want_ip)
                printf("#   got r=%d '%s' ip=%d\n", r, out, ip);
}

static void norm_bad(const char *in, const char *why)
{
        char out[256] = "";
        bool ip;
        int r = host_normalize(in, out, sizeof out, &ip);
        tap_ok(r == -EINVAL, "normalize refuses '%s' (%s)", in, why);
        if (r != -EINVAL)
                printf("#   got r=%d '%s'\n", r, out);
}

static struct host_rule parse_ok(const char *text)
{
        struct host_rule r;
        char err[256] = "";
        int ret = hostrule_parse(text, &r, err, sizeof err);
        tap_ok(ret == 0, "rule '%s' parses", text);
        if (ret != 0)
                printf("#   %s\n", err);
        return r;
}

static void rule_is(const char *text, enum rule_kind kind, const char *name, uint16_t port, bool deny)
{
        struct host_rule r = parse_ok(text);
        tap_ok(r.kind == kind && strcmp(r.name, name) == 0 && r.port == port && r.deny == deny,
               "rule '%s': kind %d name '%s' port %u%s", text, kind, name, port, deny ? " deny" : "");
        if (r.kind != kind || strcmp(r.name, name) != 0 || r.port != port || r.deny != deny)
                printf("#   got kind %d name '%s' port %u deny %d\n", r.kind, r.name, r.port, r.deny);
        tap_is_str(r.text, text, "rule '%s' keeps its text", text);
}

static void rule_addr_is(const char *text, const char *addr, unsigned prefix, uint16_t port)
{
        struct host_rule r = parse_ok(text);
        char buf[INET6_ADDRSTRLEN] = "?";
        if (r.addr.ss_family == AF_INET)
                inet_ntop(AF_INET, &((struct sockaddr_in *)&r.addr)->sin_addr, buf, sizeof buf);
        else if (r.addr.ss_family == AF_INET6)
                inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&r.addr)->sin6_addr, buf, sizeof buf);
        tap_ok(r.kind == RULE_ADDRESS && strcmp(buf, addr) == 0 && r.prefix == prefix && r.port == port,
               "rule '%s' is address %s/%u port %u", text, addr, prefix, port);
        if (r.kind != RULE_ADDRESS || strcmp(buf, addr) != 0 || r.prefix != prefix || r.port != port)
                printf("#   got kind %d %s/%u port %u\n", r.kind, buf, r.prefix, r.port);
}

/* The message must name the rule as written (control characters shown as
 * '?'), be one line and contain want. */
static void rule_err(const char *text, const char *want)
{
        struct host_rule r;
        char err[256] = "", quoted[320];
        int ret = hostrule_parse(text, &r, err, sizeof err);
        snprintf(quoted, sizeof quoted, "'%s'", text);
        for (char *q = quoted; *q; q++)
                if ((unsigned char)*q < 0x20)
                        *q = '?';
        size_t ql = strlen(quoted);
        bool ok = ret == -EINVAL && strncmp(err, quoted, ql) == 0 && strncmp(err + ql, ": ", 2) == 0 &&
                  strstr(err, want) && !strchr(err, '\n');
        tap_ok(ok, "rule %s refused: ...%s...", quoted, want);
        if (!ok)
                printf("#   got %d \"%s\"\n", ret, err);
}

#define MAX_RULES 16
static struct host_rule rules[MAX_RULES];
static size_t n_rules;

/* Replaces the rule set with the NULL-terminated list. */
static void set_rules(const char *first, ...)
{
        va_list ap;
        char err[256];
        n_rules = 0;
        va_start(ap, first);
        for (const char *t = first; t && n_rules < MAX_RULES; t = va_arg(ap, const char *))
                if (hostrule_parse(t, &rules[n_rules++], err, sizeof err) < 0) {
                        printf("# BAIL: test rule '%s': %s\n", t, err);
                        exit(2);
                }
        va_end(ap);
}

static const char *const result_names[] = { "NONE", "ALLOW", "DENY" };

static void match_is(const char *host, uint16_t port, enum match_result want)
{
        const struct host_rule *r = (const struct host_rule *)1;
        enum match_result m = hostmatch_name(rules, n_rules, host, port, &r);
        tap_ok(m == want && (want == MATCH_NONE ? r == NULL : r != NULL), "%s:%u -> %s", host, port,
               result_names[want]);
        if (m != want)
                printf("#   got %s\n", m < MATCH_RESULT_MAX ? result_names[m] : "?");
}

/* Classifies and matches a client-sent IP spelling, the way the proxy does
 * after resolution. */
static void sockaddr_of(const char *text, struct sockaddr_storage *ss)
{
        memset(ss, 0, sizeof *ss);
        struct sockaddr_in *sin = (struct sockaddr_in *)ss;
        struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
        if (inet_pton(AF_INET, text, &sin->sin_addr) == 1)
                sin->sin_family = AF_INET;
        else if (inet_pton(AF_INET6, text, &sin6->sin6_addr) == 1)
                sin6->sin6_family = AF_INET6;
}

static void class_is(const char *text, enum addr_class want)
{
        char norm[256] = "";
        bool ip = false;
        struct sockaddr_storage ss;
        /* through the normaliser, as a client would send it */
        if (host_normalize(text, norm, sizeof norm, &ip) < 0 || !ip) {
                tap_ok(0, "'%s' normalises to an address", text);
                return;
        }
        sockaddr_of(norm, &ss);
        enum addr_class c = addr_classify((struct sockaddr *)&ss);
        tap_ok(c == want, "%s is %s", text, addr_class_name(want));
        if (c != want)
                printf("#   got %s\n", addr_class_name(c));
}

static void address_ok_is(const char *text, uint16_t port, bool want)
{
        struct sockaddr_storage ss;
        sockaddr_of(text, &ss);
        tap_ok(hostmatch_address_ok(rules, n_rules, (struct sockaddr *)&ss, port) == want,
               "address %s:%u %s", text, port, want ? "may be connected to" : "is refused");
}

/* ---- rules ------------------------------------------------------------------ */

static void test_rules(void)
{
        rule_is("example.com", RULE_EXACT, "example.com", 0, false);
        rule_is("Example.COM.", RULE_EXACT, "example.com", 0, false);
        rule_is("*.example.com", RULE_WILDCARD, "example.com", 0, false);
        rule_is("*.EXAMPLE.com.", RULE_WILDCARD, "example.com", 0, false);
        rule_is("*.co.uk", RULE_WILDCARD, "co.uk", 0, false);
        rule_is("example.com:8443", RULE_EXACT, "example.com", 8443, false);
        rule_is("example.com:1", RULE_EXACT, "example.com", 1, false);
        rule_is("example.com:65535", RULE_EXACT, "example.com", 65535, false);
        rule_is("*.example.com:8080", RULE_WILDCARD, "example.com", 8080, false);
        rule_is("!bad.example.com", RULE_EXACT, "bad.example.com", 0, true);
        rule_is("!*.ads.example.com:443", RULE_WILDCARD, "ads.example.com", 443, true);
        rule_is("bücher.example", RULE_EXACT, "xn--bcher-kva.example", 0, false);
        rule_is("*.BÜCHER.example", RULE_WILDCARD, "xn--bcher-kva.example", 0, false);
        rule_is("xn--bcher-kva.example", RULE_EXACT, "xn--bcher-kva.example", 0, false);
        rule_is("r3---sn-abc.googlevideo.com", RULE_EXACT, "r3---sn-abc.googlevideo.com", 0, false);
        rule_is("localhost", RULE_EXACT, "localhost", 0, false);
        rule_is("a.b-c.d9", RULE_EXACT, "a.b-c.d9", 0, false);

        rule_addr_is("203.0.113.7", "203.0.113.7", 32, 0);
        rule_addr_is("203.0.113.7:8080", "203.0.113.7", 32, 8080);
        rule_addr_is("10.0.0.0/8", "10.0.0.0", 8, 0);
        rule_addr_is("10.0.0.0/8:5432", "10.0.0.0", 8, 5432);
        rule_addr_is("0.0.0.0/0", "0.0.0.0", 0, 0);
        rule_addr_is("10.1.2.3/32", "10.1.2.3", 32, 0);
        rule_addr_is("!169.254.169.254", "169.254.169.254", 32, 0);
        rule_addr_is("2001:db8::1", "2001:db8::1", 128, 0);
        rule_addr_is("[2001:db8::1]", "2001:db8::1", 128, 0);
        rule_addr_is("[2001:DB8:0::1]:443", "2001:db8::1", 128, 443);
        rule_addr_is("fd00::/8", "fd00::", 8, 0);
        rule_addr_is("[fd00::/8]:8443", "fd00::", 8, 8443);
        rule_addr_is("[fd00::]/8:8443", "fd00::", 8, 8443);
        rule_addr_is("::/0", "::", 0, 0);
        rule_addr_is("::1", "::1", 128, 0);
        rule_addr_is("::ffff:10.0.0.0/104", "10.0.0.0", 8, 0);
        rule_addr_is("１２７.０.０.１", "127.0.0.1", 32, 0);
        struct host_rule r = parse_ok("[::1]:22");
        tap_is_int(r.deny, 0, "'[::1]:22' allows");

        /* refused, each naming the rule and saying what to write */
        rule_err("", "empty rule");
        rule_err("!", "empty rule");
        rule_err("exa mple", "not a host name, address or CIDR");
        rule_err("exa_mple.com", "letters, digits");
        rule_err("example..com", "label is empty");
        rule_err(".example.com", "label is empty");
        rule_err("example.com..", "label is empty");
        rule_err("-example.com", "starts or ends with '-'");
        rule_err("example-.com", "starts or ends with '-'");
        rule_err("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.com", "longer than 63");
        rule_err("user@example.com", "letters, digits");
        rule_err("exam%70le.com", "letters, digits");
        rule_err("http://example.com", "without a scheme");
        rule_err("example.com/path", "not a host name, address or CIDR");
        rule_err("*", "wildcard over every host");
        rule_err("!*", "wildcard over every host");
        rule_err("*.com", "a wildcard needs at least two labels after '*.'");
        rule_err("*.", "empty");
        rule_err("*example.com", "whole leftmost label");
        rule_err("a.*.example.com", "whole leftmost label");
        rule_err("*.*.example.com", "whole leftmost label");
        rule_err("**.example.com", "whole leftmost label");
        rule_err("*.10.0.0", "write a CIDR");
        rule_err("example.com:0", "port 0 out of range (1-65535)");
        rule_err("example.com:70000", "port 70000 out of range");
        rule_err("example.com:99999999999999999999999", "out of range");
        rule_err("example.com:", "port is missing");
        rule_err("example.com:http", "port is not a number");
        rule_err("example.com:-1", "port is not a number");
        rule_err("example.com:+80", "port is not a number");
        rule_err("example.com:8\n0", "port is not a number");
        rule_err("10.0.0.1/8", "write 10.0.0.0/8");
        rule_err("10.0.0.0/33", "prefix length 33 out of range (0-32)");
        rule_err("10.0.0.0/", "prefix length is missing");
        rule_err("10.0.0.0/x", "prefix length is not a number");
        rule_err("fd00::1/8", "write fd00::/8");
        rule_err("fd00::/129", "out of range (0-128)");
        rule_err("2130706433", "dotted decimal (127.0.0.1)");
        rule_err("0x7f000001", "dotted decimal (127.0.0.1)");
        rule_err("017700000001", "dotted decimal (127.0.0.1)");
        rule_err("127.1", "dotted decimal (127.0.0.1)");
        rule_err("0177.0.0.1", "dotted decimal (127.0.0.1)");
        rule_err("010.0.0.1", "dotted decimal (8.0.0.1)");
        rule_err("10.0.0.0x1/32", "dotted decimal (10.0.0.1)");
        rule_err("1.2.3.4.5", "cannot end in a number");
        rule_err("256.0.0.1", "cannot end in a number");
        rule_err("example.0x7f", "cannot end in a number");
        rule_err("2001:db8::1:99999", "needs brackets: write [2001:db8::1]:99999");
        rule_err("2001:db8::1:2:3:4:5:6:7", "not a valid IPv6 address");
        rule_err("fd00::/8:8080", "needs brackets: write [fd00::/8]:8080");
        rule_err("1:2:3:4:5:6:7:8:443", "needs brackets: write [1:2:3:4:5:6:7:8]:443");
        rule_err("fe80::1%eth0", "zone ids");
        rule_err("[fe80::1%25eth0]", "zone ids");
        rule_err("[2001:db8::1", "missing ']'");
        rule_err("[2001:db8::1]x", "unexpected text after ']'");
        rule_err("[2001:db8::1]:0", "port 0 out of range");
        rule_err("[10.0.0.1]", "not a valid IPv6 address");
        rule_err("[example.com]:443", "not a valid IPv6 address");
        rule_err("aаpple.com:", "port is missing");

        char long_name[300];
        memset(long_name, 'a', sizeof long_name - 1);
        long_name[sizeof long_name - 1] = '\0';
        for (size_t i = 60; i < sizeof long_name - 1; i += 61)
                long_name[i] = '.';
        long_name[254] = '\0'; /* 254 characters */
        struct host_rule big;
        char err[256];
        tap_ok(hostrule_parse(long_name, &big, err, sizeof err) < 0 && strstr(err, "...': ") &&
               strstr(err, "longer than 253"), "a long rule is shortened in its message: %s", err);
        tap_is_int(hostrule_parse(long_name, &big, NULL, 0), -EINVAL, "no err buffer is fine");
        /* messages are one line even when the rule is not */
        tap_ok(hostrule_parse("a\nb", &big, err, sizeof err) < 0 && !strchr(err, '\n'), "one-line message: %s",
               err);
}

/* ---- normalisation ------------------------------------------------------------ */

static void test_normalize(void)
{
        norm_is("example.com", "example.com", false);
        norm_is("EXAMPLE.Com", "example.com", false);
        norm_is("example.com.", "example.com", false);
        norm_bad("example.com..", "two trailing dots");
        norm_bad("", "empty");
        norm_bad(".", "only a dot");
        norm_bad("exa mple.com", "space");
        norm_bad("example.com:443", "a port is not a host");
        norm_bad("exa_mple.com", "underscore");
        norm_bad("-a.example.com", "leading hyphen");

        /* percent-encoding: decoded once, then checked as a name */
        norm_is("ex%61mple.com", "example.com", false);
        norm_is("EX%41MPLE.com", "example.com", false);
        norm_is("example%2ecom", "example.com", false);
        norm_is("example.com%2E", "example.com", false);
        norm_bad("%2e%2e", "'..'");
        norm_bad("%2e", "a lone dot");
        norm_bad("example.com%2e%2e", "decodes to two trailing dots");
        norm_bad("evil.com%00.allowed.com", "%00");
        norm_bad("evil.com%2fallowed.com", "decoded '/'");
        norm_bad("evil.com%40allowed.com", "decoded '@'");
        norm_bad("evil.com%3a443", "decoded ':'");
        norm_bad("%3a%3a1", "decoded ':' is not IPv6");
        norm_bad("example.com%2500", "decoded '%' (no double decoding)");
        norm_bad("example.com%", "truncated escape");
        norm_bad("example.com%4", "truncated escape");
        norm_bad("example.com%zz", "bad escape");
        norm_is("b%C3%BCcher.example", "xn--bcher-kva.example", false);
        norm_is("%31%32%37.0.0.1", "127.0.0.1", true);

        /* userinfo: everything up to the last '@' */
        norm_is("allowed.com@evil.com", "evil.com", false);
        norm_is("user:pass@example.com", "example.com", false);
        norm_is("a@b@evil.com", "evil.com", false);
        norm_is("u%40x@evil.com", "evil.com", false);
        norm_is("user@[::1]", "::1", true);
        norm_bad("evil.com#@allowed.com", "'#' ends the authority in a URL");
        norm_bad("evil.com/@allowed.com", "'/' in userinfo");
        norm_bad("evil.com?@allowed.com", "'?' in userinfo");
        norm_bad("evil.com\\@allowed.com", "'\\' in userinfo");
        norm_bad("ev il@allowed.com", "space in userinfo");
        norm_bad("a%zz@allowed.com", "bad escape in userinfo");
        norm_bad("[::1]@allowed.com", "brackets in userinfo");
        norm_bad("allowed.com@", "nothing after '@'");

        /* IDNA */
        norm_is("bücher.example", "xn--bcher-kva.example", false);
        norm_is("BÜCHER.example", "xn--bcher-kva.example", false);
        norm_is("xn--bcher-kva.example", "xn--bcher-kva.example", false);
        norm_is("аpple.com", "xn--pple-43d.com", false); /* Cyrillic а */
        char out[256];
        bool ip;
        tap_ok(host_normalize("аpple.com", out, sizeof out, &ip) == 0 && strcmp(out, "apple.com") != 0,
               "the Cyrillic homograph is not apple.com");
        norm_is("faß.de", "xn--fa-hia.de", false); /* non-transitional */
        norm_is("example。com", "example.com", false); /* ideographic full stop */
        norm_is("ｅｘａｍｐｌｅ.com", "example.com", false);
        norm_is("１２７.０.０.１", "127.0.0.1", true);
        norm_bad("ü_x.com", "underscore survives IDNA");
        norm_bad("ü/x.com", "slash with Unicode");
        norm_bad("\xff\xfe.com", "not UTF-8");
        norm_bad("example⒈com", "disallowed character");

        /* IPv4 forms as inet_aton and browsers read them */
        static const char *const loopbacks[] = {
                "127.0.0.1", "2130706433", "0x7f000001", "0X7F000001", "017700000001", "0177.0.0.1", "0x7f.0.0.1",
                "0x7f.1",    "127.1",      "127.0.1",    "0177.1",     "127.0.0.1.", "0x7f.0x0.0x0.0x1",
                "00000000000000000177.0.0.1",
        };
        for (size_t i = 0; i < sizeof loopbacks / sizeof *loopbacks; i++)
                norm_is(loopbacks[i], "127.0.0.1", true);
        norm_is("0", "0.0.0.0", true);
        norm_is("0x", "0.0.0.0", true);
        norm_is("4294967295", "255.255.255.255", true);
        norm_is("1.2.65535", "1.2.255.255", true);
        norm_is("1.16777215", "1.255.255.255", true);
        norm_bad("4294967296", "above 2^32");
        norm_bad("0x100000000", "above 2^32 in hex");
        norm_bad("99999999999999999999999999", "overflow");
        norm_bad("1.2.65536", "last part too big");
        norm_bad("1.16777216", "last part too big");
        norm_bad("256.0.0.1", "part above 255");
        norm_bad("1.2.3.4.5", "five parts");
        norm_bad("1.2..4", "empty part");
        norm_bad("08.0.0.1", "8 is not octal");
        norm_is("0x1g", "0x1g", false); /* not a number, so a name */
        norm_bad("example.0x7f", "a name cannot end in a number");
        norm_bad("example.123", "a name cannot end in a number");
        norm_is("example.0x7g", "example.0x7g", false);
        norm_is("1.2.3.a4", "1.2.3.a4", false);

        /* IPv6 */
        norm_is("[::1]", "::1", true);
        norm_is("::1", "::1", true);
        norm_is("[0:0:0:0:0:0:0:1]", "::1", true);
        norm_is("[2001:DB8:0:0::1]", "2001:db8::1", true);
        norm_is("[::ffff:127.0.0.1]", "::ffff:127.0.0.1", true);
        norm_is("[::ffff:7f00:1]", "::ffff:127.0.0.1", true);
        norm_bad("[fe80::1%25eth0]", "zone id");
        norm_bad("fe80::1%eth0", "zone id");
        norm_bad("[::1", "no closing bracket");
        norm_bad("[::1]:443", "a port is not a host");
        norm_bad("[]", "empty brackets");
        norm_bad("[127.0.0.1]", "IPv4 in brackets");
        norm_bad("[%3a%3a1]", "no percent-decoding inside brackets");
        norm_bad("[::1]x", "text after ']'");

        /* too long, and a buffer too small */
        char big[2000];
        memset(big, 'a', sizeof big - 1);
        big[sizeof big - 1] = '\0';
        norm_bad(big, "2000 characters");
        char small[4];
        tap_is_int(host_normalize("example.com", small, sizeof small, &ip), -ENOBUFS, "buffer too small");
        tap_is_int(host_normalize("example.com", out, sizeof out, NULL), 0, "ret_is_ip may be NULL");

        /* idempotent: what the proxy connects to normalises to itself */
        static const char *const again[] = { "xn--bcher-kva.example", "127.0.0.1", "::ffff:127.0.0.1",
                                             "2001:db8::1", "example.com" };
        for (size_t i = 0; i < sizeof again / sizeof *again; i++)
                norm_is(again[i], again[i], strchr(again[i], ':') || again[i][0] == '1' || again[i][0] == '2');
}

/* ---- matching ------------------------------------------------------------------ */

static void test_match(void)
{
        set_rules("*.example.com", "api.service.net", NULL);
        match_is("a.example.com", 443, MATCH_ALLOW);
        match_is("a.b.example.com", 80, MATCH_ALLOW);
        match_is("example.com", 443, MATCH_NONE);
        match_is("evilexample.com", 443, MATCH_NONE);
        match_is("badexample.com", 443, MATCH_NONE);
        match_is("example.com.evil.net", 443, MATCH_NONE);
        match_is("a.example.com.evil.net", 443, MATCH_NONE);
        match_is("xexample.com", 443, MATCH_NONE);
        match_is("api.service.net", 443, MATCH_ALLOW);
        match_is("x.api.service.net", 443, MATCH_NONE);
        match_is("service.net", 443, MATCH_NONE);
        match_is("api.service.ne", 443, MATCH_NONE);

        /* ports: the default is 80 and 443 only */
        match_is("api.service.net", 80, MATCH_ALLOW);
        match_is("api.service.net", 22, MATCH_NONE);
        match_is("api.service.net", 8443, MATCH_NONE);
        match_is("api.service.net", 0, MATCH_NONE);
        set_rules("api.service.net:8443", NULL);
        match_is("api.service.net", 8443, MATCH_ALLOW);
        match_is("api.service.net", 443, MATCH_NONE);
        match_is("api.service.net", 80, MATCH_NONE);

        /* deny wins, whatever the order */
        set_rules("*.example.com", "!bad.example.com", NULL);
        match_is("bad.example.com", 443, MATCH_DENY);
        match_is("good.example.com", 443, MATCH_ALLOW);
        match_is("x.bad.example.com", 443, MATCH_ALLOW);
        set_rules("!*.ads.example.com", "*.example.com", "x.ads.example.com", NULL);
        match_is("x.ads.example.com", 443, MATCH_DENY);
        match_is("ads.example.com", 443, MATCH_ALLOW);
        const struct host_rule *r = NULL;
        hostmatch_name(rules, n_rules, "x.ads.example.com", 443, &r);
        tap_is_str(r ? r->text : NULL, "!*.ads.example.com", "the deciding rule is the deny");
        tap_is_int(hostmatch_name(rules, n_rules, "x.ads.example.com", 443, NULL), MATCH_DENY,
                   "ret_rule may be NULL");
        /* a deny without a port closes every port */
        set_rules("*.example.com:8443", "!bad.example.com", NULL);
        match_is("bad.example.com", 8443, MATCH_DENY);
        match_is("ok.example.com", 8443, MATCH_ALLOW);
        set_rules("*.example.com", "!bad.example.com:8443", NULL);
        match_is("bad.example.com", 443, MATCH_ALLOW);
        match_is("bad.example.com", 8443, MATCH_DENY);

        /* IDNA in rules and hosts meet in punycode */
        set_rules("bücher.example", "apple.com", NULL);
        match_is("xn--bcher-kva.example", 443, MATCH_ALLOW);
        match_is("xn--pple-43d.com", 443, MATCH_NONE);

        /* only normalised hosts are decided; anything else fails closed */
        set_rules("*.example.com", "!bad.example.com", NULL);
        match_is("BAD.example.com", 443, MATCH_NONE);
        match_is("bad.example.com.", 443, MATCH_NONE);
        match_is("x@bad.example.com", 443, MATCH_NONE);
        match_is("", 443, MATCH_NONE);
        tap_is_int(hostmatch_name(rules, n_rules, NULL, 443, NULL), MATCH_NONE, "NULL host");
        tap_is_int(hostmatch_name(NULL, 0, "a.example.com", 443, NULL), MATCH_NONE, "no rules");

        /* IP literals match address rules only */
        set_rules("127.0.0.1", "*.0.1.com", "10.0.0.0/8", "!10.9.0.0/16", "[2001:db8::1]:443", "fd00::/8", NULL);
        match_is("127.0.0.1", 443, MATCH_ALLOW);
        match_is("127.0.0.2", 443, MATCH_NONE);
        match_is("10.1.2.3", 80, MATCH_ALLOW);
        match_is("10.9.1.1", 80, MATCH_DENY);
        match_is("11.0.0.1", 80, MATCH_NONE);
        match_is("2001:db8::1", 443, MATCH_ALLOW);
        match_is("2001:db8::1", 80, MATCH_NONE);
        match_is("fd12::1", 443, MATCH_ALLOW);
        match_is("fe80::1", 443, MATCH_NONE);
        match_is("::ffff:127.0.0.1", 443, MATCH_ALLOW); /* mapped is the IPv4 address */
        match_is("::ffff:10.9.0.1", 443, MATCH_DENY);
        match_is("0.1.com", 443, MATCH_NONE);
        set_rules("example.com", "localhost", NULL);
        match_is("127.0.0.1", 443, MATCH_NONE);
        match_is("::1", 443, MATCH_NONE);
        set_rules("!::ffff:10.0.0.0/104", "0.0.0.0/0", NULL);
        match_is("10.0.0.1", 443, MATCH_DENY);
        match_is("11.0.0.1", 443, MATCH_ALLOW);

        /* a client's spelling, normalised, meets the rules */
        set_rules("allowed.com", NULL);
        char h[256];
        bool ip;
        host_normalize("allowed.com@evil.com", h, sizeof h, &ip);
        match_is(h, 443, MATCH_NONE);
        host_normalize("ALLOWED.com.", h, sizeof h, &ip);
        match_is(h, 443, MATCH_ALLOW);
        set_rules("127.0.0.0/8", NULL);
        host_normalize("0x7f.1", h, sizeof h, &ip);
        match_is(h, 80, MATCH_ALLOW);
}

/* ---- addresses ------------------------------------------------------------------- */

static void test_addresses(void)
{
        class_is("169.254.169.254", ADDR_LINK_LOCAL);
        class_is("100.64.0.1", ADDR_SHARED);
        class_is("100.127.255.255", ADDR_SHARED);
        class_is("100.128.0.1", ADDR_PUBLIC);
        class_is("10.1.2.3", ADDR_PRIVATE);
        class_is("172.16.0.1", ADDR_PRIVATE);
        class_is("172.31.255.255", ADDR_PRIVATE);
        class_is("172.32.0.1", ADDR_PUBLIC);
        class_is("172.15.255.255", ADDR_PUBLIC);
        class_is("192.168.1.1", ADDR_PRIVATE);
        class_is("127.0.0.1", ADDR_LOOPBACK);
        class_is("127.255.255.254", ADDR_LOOPBACK);
        class_is("2130706433", ADDR_LOOPBACK);
        class_is("0.0.0.0", ADDR_UNSPECIFIED);
        class_is("0.1.2.3", ADDR_UNSPECIFIED);
        class_is("224.0.0.1", ADDR_MULTICAST);
        class_is("239.255.255.250", ADDR_MULTICAST);
        class_is("240.0.0.1", ADDR_UNSPECIFIED);
        class_is("255.255.255.255", ADDR_UNSPECIFIED);
        class_is("192.0.0.8", ADDR_UNSPECIFIED);
        class_is("198.18.0.1", ADDR_UNSPECIFIED);
        class_is("198.19.255.255", ADDR_UNSPECIFIED);
        class_is("198.20.0.1", ADDR_PUBLIC);
        class_is("203.0.113.7", ADDR_PUBLIC); /* documentation, kept public on purpose */
        class_is("192.0.2.1", ADDR_PUBLIC);
        class_is("8.8.8.8", ADDR_PUBLIC);
        class_is("[::]", ADDR_UNSPECIFIED);
        class_is("[::1]", ADDR_LOOPBACK);
        class_is("[::ffff:127.0.0.1]", ADDR_LOOPBACK);
        class_is("[::ffff:169.254.169.254]", ADDR_LINK_LOCAL);
        class_is("[::127.0.0.1]", ADDR_LOOPBACK); /* IPv4-compatible */
        class_is("[::ffff:8.8.8.8]", ADDR_PUBLIC);
        class_is("fd12::1", ADDR_PRIVATE);
        class_is("fc00::1", ADDR_PRIVATE);
        class_is("fe80::1", ADDR_LINK_LOCAL);
        class_is("febf::1", ADDR_LINK_LOCAL);
        class_is("fec0::1", ADDR_PRIVATE);
        class_is("ff02::1", ADDR_MULTICAST);
        class_is("2002:7f00:1::1", ADDR_LOOPBACK); /* 6to4 of 127.0.0.1 */
        class_is("2002:a9fe:a9fe::1", ADDR_LINK_LOCAL);
        class_is("2002:808:808::1", ADDR_PUBLIC);
        class_is("64:ff9b::a9fe:a9fe", ADDR_LINK_LOCAL); /* NAT64 of the metadata address */
        class_is("64:ff9b::7f00:1", ADDR_LOOPBACK);
        class_is("64:ff9b::808:808", ADDR_PUBLIC);
        class_is("64:ff9b:1::1", ADDR_PRIVATE);
        class_is("100::1", ADDR_UNSPECIFIED);
        class_is("2001:db8::1", ADDR_PUBLIC); /* documentation, kept public on purpose */
        class_is("2606:4700::1111", ADDR_PUBLIC);

        struct sockaddr_storage ss = { .ss_family = AF_UNIX };
        tap_is_int(addr_classify((struct sockaddr *)&ss), ADDR_UNSPECIFIED, "AF_UNIX is not an address");
        tap_is_int(addr_classify(NULL), ADDR_UNSPECIFIED, "NULL is not an address");
        tap_is_str(addr_class_name(ADDR_LINK_LOCAL), "link-local", "class name");
        tap_is_str(addr_class_name(ADDR_CLASS_MAX), "unknown", "class name out of range");
        for (int c = 0; c < ADDR_CLASS_MAX; c++)
                tap_ok(strcmp(addr_class_name(c), "unknown") != 0, "class %d has a name", c);

        /* after resolution: public passes, the rest needs an address rule */
        set_rules("*.example.com", NULL);
        address_ok_is("203.0.113.7", 443, true);
        address_ok_is("127.0.0.1", 443, false);
        address_ok_is("169.254.169.254", 80, false);
        address_ok_is("::ffff:169.254.169.254", 80, false);
        address_ok_is("64:ff9b::a9fe:a9fe", 80, false);
        address_ok_is("10.0.0.1", 443, false);
        set_rules("10.0.0.0/8", "!10.0.0.66", "!203.0.113.0/24", "[fd00::/8]:8080", NULL);
        address_ok_is("10.1.1.1", 443, true);
        address_ok_is("10.1.1.1", 22, false);
        address_ok_is("::ffff:10.1.1.1", 443, true);
        address_ok_is("10.0.0.66", 443, false);
        address_ok_is("10.0.0.66", 22, false);
        address_ok_is("203.0.113.7", 443, false);
        address_ok_is("198.51.100.7", 443, true);
        address_ok_is("fd00::1", 8080, true);
        address_ok_is("fd00::1", 443, false);
        address_ok_is("172.16.0.1", 443, false);
        /* a deny reaches the IPv4 address inside NAT64 and 6to4 */
        set_rules("64:ff9b::/96", "2002::/16", "!169.254.169.254", NULL);
        address_ok_is("64:ff9b::a9fe:a9fe", 443, false);
        address_ok_is("2002:a9fe:a9fe::1", 443, false);
        address_ok_is("64:ff9b::7f00:1", 443, true);
        /* an IPv4 allow does not reach inside them */
        set_rules("169.254.169.254", NULL);
        address_ok_is("169.254.169.254", 80, true);
        address_ok_is("64:ff9b::a9fe:a9fe", 80, false);
        address_ok_is("::ffff:169.254.169.254", 80, true);
        tap_ok(!hostmatch_address_ok(rules, n_rules, (struct sockaddr *)&ss, 80), "AF_UNIX refused");
        tap_ok(!hostmatch_address_ok(rules, n_rules, NULL, 80), "NULL refused");
}

int main(void)
{
        test_rules();
        test_normalize();
        test_match();
        test_addresses();
        return tap_done();
}
