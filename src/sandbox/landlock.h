/* SPDX-License-Identifier: MIT */
/* Landlock: a ruleset matching the mounts, so that even a path the mount
 * namespace gets wrong (or a weaker mode without one) is still limited. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

enum landlock_access {
        LL_READ,      /* read files, list directories */
        LL_READ_EXEC, /* plus execute */
        LL_WRITE,     /* everything: create, remove, write, truncate, refer, exec */
        LL_DEV,       /* read/write files plus device ioctls (/dev) */
        LL_LIST,      /* list directories only ("/": everything there is visible anyway) */
        LL_ACCESS_MAX,
};

struct landlock_rule {
        const char *path;
        enum landlock_access access;
};

/* Highest Landlock ABI the kernel supports, or -errno (-ENOSYS, -EOPNOTSUPP
 * when built in but disabled at boot). */
int landlock_abi(void);

/* Restricts the calling thread to the rules. Missing paths are skipped.
 * scope_ipc: on ABI >= 6 also deny abstract unix sockets and signals to
 * processes outside the sandbox's domain. Returns the ABI used (> 0) or
 * -errno. no_new_privs must already be set. */
int landlock_apply(const struct landlock_rule *rules, size_t n, bool scope_ipc);
