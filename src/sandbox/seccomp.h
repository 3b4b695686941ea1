/* SPDX-License-Identifier: MIT */
/* The syscall filter, built with libseccomp and loaded last, right before
 * execve, after no_new_privs and Landlock. It denies the kernel attack
 * surface a developer tool never needs. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

struct seccomp_rule_doc {
        const char *what; /* "keyctl, add_key, request_key" */
        const char *why;  /* one line: the attack it stops */
};

struct seccomp_options {
        /* Without a network namespace (the weaker no-userns mode with
         * --net none), deny AF_INET/AF_INET6 sockets so the tool still has
         * no network. */
        bool deny_inet;
};

/* Loads the filter into the calling thread (which must already have
 * no_new_privs set). Returns 0 or -errno. */
int seccomp_apply(const struct seccomp_options *o);

/* Writes the filter as raw BPF to fd (the build-time generator uses it).
 * Returns 0 or -errno. */
int seccomp_export(const struct seccomp_options *o, int fd);

/* The documented rules, for `moat explain` and the docs. */
const struct seccomp_rule_doc *seccomp_rules(size_t *ret_n);

/* Whether the kernel supports seccomp filters (for doctor/fail-closed). */
bool seccomp_available(void);
