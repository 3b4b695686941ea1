/* SPDX-License-Identifier: MIT */
/* The egress proxy: the only way out of a sandbox with an allowlist. It runs
 * in the supervisor (a thread with its own epoll loop), behind a listener
 * that the sandbox's init created inside the sandbox's network namespace and
 * handed out. It speaks HTTP/1.1 forwarding, CONNECT and SOCKS5 (told apart
 * by the first byte), decides every request by host name, resolves names on
 * the host side, and checks the address it actually connects to. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "net/hostmatch.h"

/* The sandbox sees the proxy at this address (its own loopback). */
#define EGRESS_PORT 3128

/* What the proxy may hold on the host, where no limit of the sandbox
 * counts it. Connections (proxy, -p and --host-port together) beyond
 * EGRESS_MAX_CONNS at once are closed as soon as they are accepted, each
 * recorded as a refusal. A connection holds about 10 KiB of its own, up to
 * four 32 KiB buffers while an HTTP request is forwarded (none otherwise),
 * and, as a tunnel, two pipes of the kernel's default 64 KiB, whose pages
 * are held only while data waits in them; a tunnel direction that moves
 * bulk data grows its pipe to 1 MiB, at most EGRESS_MAX_GROWN_PIPES at
 * once. Worst case, every connection stalled: about 140 MiB of buffers, or
 * 128 MiB + 60 MiB of pipe pages. */
#define EGRESS_MAX_CONNS 1024
#define EGRESS_MAX_GROWN_PIPES 64
/* Decisions kept in memory (about 0.5 KiB each); beyond it the finished
 * ones are counted only, with the first refusals kept for the summary. */
#define EGRESS_MAX_DECISIONS 4096
#define EGRESS_KEPT_REFUSALS 1024

struct egress_decision {
        double start;          /* seconds since the epoch */
        double duration_s;
        char proto[8];         /* "http", "connect", "socks" */
        char host[256];        /* as normalised, or as sent when it did not normalise */
        uint16_t port;
        bool allowed;
        char reason[160];      /* why refused, or "allowed by RULE" */
        uint64_t bytes_up, bytes_down;
};

/* Port forwards run on the same loop as the proxy. */
enum forward_kind {
        FWD_PUBLISH,   /* host listener -> 127.0.0.1:port inside (via init) */
        FWD_HOST_PORT, /* listener inside the sandbox -> the host's 127.0.0.1:port */
        FWD_KIND_MAX,
};

struct egress_forward {
        enum forward_kind kind;
        int listen_fd;  /* taken over */
        uint16_t port;  /* PUBLISH: the sandbox port; HOST_PORT: the host port */
};

struct egress_config {
        const struct host_rule *rules;
        size_t n_rules;
        int listen_fd;  /* the proxy's listener, or -1; taken over; closed by egress_stop */
        int log_fd;     /* JSON lines of every decision, or -1 */
        const struct egress_forward *forwards;
        size_t n_forwards;
        int init_sock;  /* PUBLISH: asks the sandbox's init for connections inside; -1 if none */
};

/* The request on init_sock: connect to 127.0.0.1:port inside. init answers
 * with the same struct (err 0 and the socket as SCM_RIGHTS, or err set). */
struct forward_request {
        uint32_t port;
        int32_t err;
};

struct egress;

int egress_start(const struct egress_config *c, struct egress **ret);
/* Stops accepting, closes every connection and joins the threads. */
void egress_stop(struct egress *eg);
/* After stop: the decisions kept, in order, and how many were only counted. */
const struct egress_decision *egress_decisions(const struct egress *eg, size_t *ret_n);
void egress_dropped(const struct egress *eg, uint64_t *ret_allowed, uint64_t *ret_refused);
void egress_free(struct egress *eg);

/* One line for the run summary: "blocked 3 connections: evil.example:443 x2,
 * 203.0.113.9:80 — not in allowed hosts", escaped; "" when nothing was. */
void egress_summary(const struct egress *eg, char *buf, size_t size);
