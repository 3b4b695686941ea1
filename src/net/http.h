/* SPDX-License-Identifier: MIT */
/* The egress proxy's wire formats, parsed without side effects: an HTTP/1.1
 * request head (absolute-form, CONNECT), a response head, chunked framing,
 * and SOCKS5 messages. Bytes in, structs out; unit-tested and fuzzed. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define HTTP_MAX_HEAD 16384 /* larger heads are refused (431) */

enum http_method_kind { HTTP_METHOD_CONNECT, HTTP_METHOD_OTHER, HTTP_METHOD_HEAD, HTTP_METHOD_KIND_MAX };

struct http_request {
        enum http_method_kind kind;
        char method[16];
        char host[256];       /* from the absolute-form URI (after the last '@': userinfo is dropped) or
                               * the CONNECT authority, as sent (not normalised), IPv6 without brackets */
        uint16_t port;        /* explicit or the scheme's default (80 http, 443 https); never 0 */
        bool https_scheme;    /* absolute-form with https:// */
        char path[8192];      /* origin-form to send upstream ("/x?y", fragment dropped); empty for CONNECT */
        char host_header[256];/* the Host header value, "" if absent */
        int version_minor;    /* HTTP/1.<minor> */
        bool keep_alive;      /* per version and Connection header */
        bool chunked;         /* Transfer-Encoding: chunked (last coding) */
        int64_t content_length; /* -1 when absent (always when chunked) */
        size_t head_len;      /* bytes of the head including the blank line */
};

enum http_parse_result {
        HTTP_INCOMPLETE = 0, /* need more bytes */
        HTTP_OK = 1,
        HTTP_BAD = -1,       /* malformed: answer 400 */
        HTTP_TOO_LARGE = -2, /* head over HTTP_MAX_HEAD: answer 431 */
};

/* Parses a request head at the start of buf. Lines end in CRLF only; a bare
 * CR or LF anywhere is refused. Rejects (HTTP_BAD): origin-form requests (a
 * proxy only takes absolute-form or CONNECT), CONNECT without a port or with
 * a body, both Content-Length and Transfer-Encoding, Content-Length that is
 * not plain digits (so "1, 1" too) or several differing ones,
 * Transfer-Encoding whose last coding is not chunked (or any in HTTP/1.0),
 * duplicate Host, obs-fold, whitespace before a field's colon, NUL and other
 * control bytes, non-token methods, schemes other than http/https, port 0.
 * HTTP_TOO_LARGE also when the path does not fit in req->path. */
enum http_parse_result http_parse_request(const char *buf, size_t len, struct http_request *ret);

/* Writes the request head to send upstream, given the buffer and result of
 * a successful http_parse_request: origin-form "HTTP/1.1" request line, a
 * Host header built from req->host and req->port, the client's headers in
 * their order minus hop-by-hop ones (Connection, Proxy-Connection,
 * Keep-Alive, Proxy-Authorization, TE, Trailer, Upgrade — this version
 * forwards no websockets — and any named in Connection, except
 * Transfer-Encoding) and minus Host and Content-Length, then a single
 * Content-Length if the request had one, "Connection: keep-alive" or
 * "close". NUL-terminates. Returns the length written, -ENOSPC, or -EINVAL
 * for CONNECT. */
ssize_t http_rewrite_request(const char *buf, const struct http_request *req, bool keep_alive, char *out,
                             size_t outsize);

struct http_response {
        int status;
        int version_minor;
        bool keep_alive;
        bool chunked;
        int64_t content_length; /* -1 absent */
        bool no_body;           /* 1xx, 204, 304, or a response to HEAD */
        bool until_close;       /* body delimited by the connection closing */
        size_t head_len;
};

/* Parses a response head; request_was_head tells whether a body follows.
 * Framing follows RFC 9112 §6.3: no_body for HEAD, 1xx, 204, 304; else
 * chunked when chunked is the last coding; else until_close for other
 * codings; else Content-Length; else until_close (keep_alive then false).
 * Both Content-Length and Transfer-Encoding, or Transfer-Encoding in
 * HTTP/1.0, are HTTP_BAD (answer 502). */
enum http_parse_result http_parse_response(const char *buf, size_t len, bool request_was_head,
                                           struct http_response *ret);

/* Tracks chunked framing as bytes pass through unchanged. Start from a
 * zeroed struct; chunk sizes above 2^62 are malformed. */
struct chunk_state {
        int state;
        uint64_t remaining;
        bool done;
};
/* Consumes up to len bytes; returns how many belong to the message (fewer
 * than len once the last chunk and trailers end; 0 once done), or -1 on
 * malformed framing (and from then on). Bytes may arrive split anywhere. */
ssize_t chunk_feed(struct chunk_state *st, const char *buf, size_t len);

/* SOCKS5 (RFC 1928), no authentication. */
enum socks_atyp { SOCKS_IPV4 = 1, SOCKS_DOMAIN = 3, SOCKS_IPV6 = 4 };
struct socks_request {
        uint8_t cmd;            /* 1 CONNECT; others are refused (reply 7) */
        enum socks_atyp atyp;
        char host[256];         /* domain as sent, or the address as text */
        uint16_t port;
        size_t len;             /* bytes consumed */
};
/* Greeting: VER NMETHODS METHODS. Returns bytes consumed (>0), 0 if
 * incomplete, -1 if malformed or without the no-auth method. */
ssize_t socks_parse_greeting(const uint8_t *buf, size_t len);
/* Request: VER CMD RSV ATYP ADDR PORT. Any CMD is returned; a domain of
 * 1..255 bytes without NUL; port 0 is HTTP_BAD. */
enum http_parse_result socks_parse_request(const uint8_t *buf, size_t len, struct socks_request *ret);
