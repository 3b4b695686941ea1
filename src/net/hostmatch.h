/* SPDX-License-Identifier: MIT */
/* Egress rules and the names and addresses they are matched against. Pure:
 * strings in, decisions out, so every spelling trick can be unit-tested and
 * fuzzed.
 *
 * Rules (from --allow and a profile's allowed_hosts):
 *   example.com          that host exactly
 *   *.example.com        any subdomain of example.com, not example.com itself
 *   example.com:8443     with a port (default: 80 and 443)
 *   !bad.example.com     deny (any rule form); a deny wins over every allow
 *   203.0.113.7, [2001:db8::1]:443, 10.0.0.0/8, fd00::/8
 *                        IP literals and CIDRs: the only way to allow a
 *                        loopback, private, link-local or metadata address */
#pragma once

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define HOSTMATCH_MAX_NAME 253

enum rule_kind { RULE_EXACT, RULE_WILDCARD, RULE_ADDRESS, RULE_KIND_MAX };

struct host_rule {
        enum rule_kind kind;
        bool deny;
        char name[HOSTMATCH_MAX_NAME + 1]; /* EXACT/WILDCARD: normalised (lowercase ASCII, punycode); for
                                            * WILDCARD the suffix without "*." */
        struct sockaddr_storage addr;       /* ADDRESS: network address */
        unsigned prefix;                    /* ADDRESS: prefix length (32/128 for a single address) */
        uint16_t port;                      /* 0: the default ports 80 and 443 */
        char text[300];                     /* the rule as written, for messages */
};

/* Parses one rule. Returns 0, or -EINVAL with a message in err ("'exa mple':
 * not a host name, address or CIDR", "port 70000 out of range"...). */
int hostrule_parse(const char *text, struct host_rule *ret, char *err, size_t errsize);

/* Normalises a host as a client sent it (in a URL, a Host header, CONNECT
 * or SOCKS): strips userinfo ("a@b" -> "b") and a trailing dot, decodes
 * percent-encoding, lowercases, converts IDNA to punycode, and turns IPv4 in
 * decimal, octal or hex forms ("2130706433", "0177.1", "0x7f.0.0.1") and
 * bracketed IPv6 into canonical text. Sets *ret_is_ip. Returns 0, -EINVAL
 * (empty, too long, bad characters, bad escapes) or -ENOBUFS (out too small).
 * The output normalises to itself. */
int host_normalize(const char *in, char *out, size_t outsize, bool *ret_is_ip);

enum match_result {
        MATCH_NONE,    /* no rule mentions it: refused */
        MATCH_ALLOW,
        MATCH_DENY,    /* a ! rule */
        MATCH_RESULT_MAX,
};

/* Decides a normalised host name (or IP text) and port against the rules.
 * A host not in host_normalize's output form is MATCH_NONE, so a caller that
 * forgets to normalise fails closed. A rule without a port allows 80 and 443
 * but denies every port. *ret_rule points at the deciding rule (NULL for
 * MATCH_NONE). */
enum match_result hostmatch_name(const struct host_rule *rules, size_t n, const char *host, uint16_t port,
                                 const struct host_rule **ret_rule);

/* Address classes that are refused after resolution unless an ADDRESS rule
 * covers the address. */
enum addr_class {
        ADDR_PUBLIC,
        ADDR_LOOPBACK,      /* 127/8, ::1 */
        ADDR_PRIVATE,       /* 10/8, 172.16/12, 192.168/16, fc00::/7 */
        ADDR_LINK_LOCAL,    /* 169.254/16 (cloud metadata), fe80::/10 */
        ADDR_SHARED,        /* 100.64/10 (carrier-grade NAT) */
        ADDR_MULTICAST,     /* 224/4, ff00::/8 */
        ADDR_UNSPECIFIED,   /* 0/8, ::, and other reserved ranges (240/4, broadcast) */
        ADDR_CLASS_MAX,
};

/* Classifies an address; IPv4-mapped and IPv4-compatible IPv6 addresses, NAT64
 * (64:ff9b::/96) and 6to4 (2002::/16) are judged by the IPv4 address inside. */
enum addr_class addr_classify(const struct sockaddr *sa);
const char *addr_class_name(enum addr_class c);

/* True when an address that resolved from an allowed name may be connected
 * to: public, or covered by an allowing ADDRESS rule (and by no denying one). */
bool hostmatch_address_ok(const struct host_rule *rules, size_t n, const struct sockaddr *sa, uint16_t port);
