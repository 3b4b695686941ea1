/* SPDX-License-Identifier: MIT */
/* The sandbox's pid 1: builds the root, starts the command, reaps, forwards
 * signals, and reports the command's status. */
#pragma once

#include "policy/policy.h"

/* Runs in the child of clone(CLONE_NEWUSER|...). Never returns. */
struct init_args {
        const struct policy *policy;
        int ctl;               /* init's end of the control pair */
        bool use_pty;
        bool landlock;
        int cgroup_fds[2];     /* init joins the cgroup through these, or -1 */
        int fwd_sock;          /* -p: requests to connect inside arrive here, or -1 */
};

_Noreturn void init_main(const struct init_args *a);
