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

struct egress_config {
        const struct host_rule *rules;
        size_t n_rules;
        int listen_fd;  /* taken over; closed by egress_stop */
        int log_fd;     /* JSON lines of every decision, or -1 */
};

struct egress;

int egress_start(const struct egress_config *c, struct egress **ret);
/* Stops accepting, closes every connection and joins the threads. */
void egress_stop(struct egress *eg);
/* After stop: the decisions, in order. */
const struct egress_decision *egress_decisions(const struct egress *eg, size_t *ret_n);
void egress_free(struct egress *eg);

/* One line for the run summary: "blocked 3 connections: evil.example:443 x2,
 * 203.0.113.9:80 — not in allowed hosts", escaped; "" when nothing was. */
void egress_summary(const struct egress *eg, char *buf, size_t size);
