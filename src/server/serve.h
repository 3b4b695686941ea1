/* SPDX-License-Identifier: MIT */
/* `moat serve`: the code runner behind a Unix socket. Newline-delimited
 * JSON: one request per line, one response per line, in order, on each
 * connection; many connections at once.
 *
 * One thread runs an epoll loop over the listening socket, the clients, a
 * signalfd and the jobs' pipes; every run is a job (server/job.h), a child
 * forked from this single-threaded process. At most `workers` run at once
 * and `queue` more wait; past that a request is answered "busy" at once.
 * SIGTERM, SIGINT or SIGHUP stop it: no new connections or requests, runs
 * in flight get `grace` seconds to finish, then SIGTERM, then SIGKILL; the
 * socket file is removed and the exit status is 0. */
#pragma once

#include <stdbool.h>

#include "runner/api.h"

/* A line longer than this is refused and the connection closed. */
#define SERVE_MAX_LINE (8u << 20)

struct serve_config {
        const char *socket_path;
        unsigned workers;     /* runs at once */
        unsigned queue;       /* requests waiting for a worker */
        unsigned max_clients; /* connections at once */
        double grace_s;       /* for runs in flight when stopping */
        const char *policy_file;
};

/* Runs until stopped. Returns the exit status: 0 after a clean stop, 125
 * when it could not start (the reason logged). */
int serve_run(const struct serve_config *c);
