/* SPDX-License-Identifier: MIT */
/* What this kernel and system allow. Used by `moat doctor` to report, and by
 * `moat run` to fail closed: when a protection the policy needs is missing,
 * the run is refused with the reason and the fix. */
#pragma once

#include <stdbool.h>

#include "sandbox/cgroup.h"
#include "util/json.h"

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

/* The protection `moat run` gets from these facts, as `moat doctor` and
 * `moat info` report it. seccomp has no --allow-weaker: without it there
 * is nothing to fall back to that still keeps the kernel's attack surface
 * small. */
enum protection_level {
        PROTECTION_FULL,          /* namespaces + Landlock + seccomp + rlimits */
        PROTECTION_NO_LANDLOCK,   /* only with --allow-weaker landlock */
        PROTECTION_LANDLOCK_ONLY, /* only with --allow-weaker userns */
        PROTECTION_NONE,          /* moat run refuses */
        _PROTECTION_MAX,
};
enum protection_level probe_level(const struct system_facts *f);
/* "full", "no-landlock", "landlock-only", "none available" */
const char *probe_level_name(enum protection_level l);
/* How limits are enforced: "cgroup v2", "cgroup v1" or "rlimits". */
const char *probe_limits_name(const struct system_facts *f);
/* The facts as one JSON object (`moat doctor --json`, `moat info --json`),
 * under key in an enclosing object, or on its own when key is NULL. */
void probe_facts_json(const struct system_facts *f, const char *key, struct json *j);
