/* SPDX-License-Identifier: MIT */
/* The sandbox engine: runs a policy and reports what happened. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "net/egress.h"
#include "policy/policy.h"
#include "util/error.h"

enum limit_hit {
        HIT_TIMEOUT = 1u << 0,
        HIT_MEMORY = 1u << 1,
        HIT_CPU = 1u << 2,
        HIT_FSIZE = 1u << 3,
};

struct sandbox_result {
        int exit_code;        /* the command's exit code, or -1 when killed */
        int signal;           /* the signal that killed it, or 0 */
        bool timed_out;
        bool oom;
        unsigned hits;        /* enum limit_hit */
        double duration_s;
        uint64_t peak_memory; /* bytes, 0 when unknown */
        int status;           /* moat's exit status, per moat(1) */
        char level[64];       /* protection level in force */
        struct egress_decision *refusals; /* the egress proxy's refused connections (owned) */
        size_t n_refusals;
        size_t n_allowed;     /* connections the proxy let through */
        uint64_t n_refusals_dropped; /* refusals counted but not kept (past EGRESS_KEPT_REFUSALS) */
};

void sandbox_result_free(struct sandbox_result *r);

/* Runs p. Returns 0 when the command ran (its outcome is in r), or -errno
 * with e filled in when the sandbox could not be set up (e->exit_status:
 * 125, or 126/127 when the command could not be executed). */
int sandbox_run(const struct policy *p, struct sandbox_result *r, struct moat_error *e);
