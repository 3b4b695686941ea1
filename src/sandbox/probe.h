/* SPDX-License-Identifier: MIT */
/* What this kernel and system allow. Used by `moat doctor` to report, and by
 * `moat run` to fail closed: when a protection the policy needs is missing,
 * the run is refused with the reason and the fix. */
#pragma once

#include <stdbool.h>

#include "sandbox/cgroup.h"

struct system_facts {
        char kernel[128];            /* uname -r */
        bool userns;                 /* an unprivileged-style user namespace can be made */
        char userns_reason[512];     /* when not: why, and the exact fix */
        int landlock_abi;            /* > 0, or -errno */
        bool seccomp;
        bool openat2;
        bool mount_api;              /* open_tree/move_mount/mount_setattr */
        bool pidfd;
        bool overlayfs;              /* mountable inside a user namespace */
        struct cgroup_info cgroup;
};

/* Fills f. Cheap enough for every run (no fork unless needed): the userns
 * check reads sysctls first and only tries unshare in a child when they do
 * not decide. */
void probe_system(struct system_facts *f);

/* Just the user-namespace check, as used on every `moat run`. Returns true
 * when available; otherwise fills reason (why + fix). */
bool probe_userns(char *reason, size_t size);
