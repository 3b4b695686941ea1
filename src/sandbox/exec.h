/* SPDX-License-Identifier: MIT */
/* The last steps before the command runs, shared by the namespaced sandbox
 * and the weaker no-user-namespace mode. */
#pragma once

#include <stdbool.h>

#include "policy/policy.h"
#include "sandbox/landlock.h"

struct exec_plan {
        const struct policy *policy;
        int ctl;                      /* where pre-exec errors are reported (CLOEXEC) */
        int pty_slave;                /* -1: keep the inherited stdio */
        bool pty_in_session;          /* the caller leads the pty's session: join it, own group */
        const struct landlock_rule *rules;
        size_t n_rules;
        bool landlock;                /* apply the ruleset (false only with --allow-weaker landlock) */
        bool deny_inet;               /* no network namespace: deny inet sockets instead */
        bool drop_caps;               /* inside a user namespace: drop every capability */
};

/* Never returns: execs the command or reports and _exit()s (126/127/125). */
_Noreturn void exec_command(const struct exec_plan *x);

/* Landlock rules matching the policy's mounts (namespaced mode). Returns the
 * count written to rules (at most max). */
size_t exec_rules_for_policy(const struct policy *p, struct landlock_rule *rules, size_t max);

/* Reports a setup failure on ctl and exits: the supervisor prints it once. */
_Noreturn void exec_fail(int ctl, int status, int err, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));
