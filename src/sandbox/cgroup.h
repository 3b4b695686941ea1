/* SPDX-License-Identifier: MIT */
/* cgroup limits: memory, pids and CPU through a cgroup we may write to.
 * cgroup v2 where a delegated subtree with the controllers exists (any user);
 * cgroup v1 memory and pids hierarchies when they are writable (root on hybrid
 * systems). rlimits are applied always, elsewhere; this is the stronger layer
 * when the system offers it. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "policy/policy.h"

enum cgroup_kind { CGROUP_NONE, CGROUP_V2, CGROUP_V1, CGROUP_KIND_MAX };

struct cgroup_info {
        enum cgroup_kind kind;
        bool memory;   /* memory controller usable */
        bool pids;     /* pids controller usable */
        bool cpu;      /* cpu controller usable */
        char reason[256]; /* when not usable: why, and what to do */
};

/* What this process could use. sysfs_root is normally "/sys/fs/cgroup",
 * proc_self_cgroup normally "/proc/self/cgroup" (tests pass fakes). */
void cgroup_probe(const char *sysfs_root, const char *proc_self_cgroup, struct cgroup_info *ret);

struct cgroup {
        enum cgroup_kind kind;
        char *path;        /* v2: the leaf directory */
        char *v1_memory;   /* v1: leaf in the memory hierarchy, or NULL */
        char *v1_pids;     /* v1: leaf in the pids hierarchy, or NULL */
};

/* Creates a leaf cgroup named name under what cgroup_probe found and writes
 * the limits (memory.max + swap, pids.max; v1 equivalents). Returns 0, or
 * -errno when nothing could be set up (ret->kind = CGROUP_NONE then). */
int cgroup_create(const char *sysfs_root, const char *proc_self_cgroup, const char *name,
                  const struct limits *l, struct cgroup *ret);
/* Opens, on the host side, the files through which a process moves itself
 * into the cgroup(s); fds[] gets up to two descriptors (-1 unused). Returns
 * how many, or -errno. The sandbox's init writes with cgroup_attach_self()
 * before it starts the command, so the command is born inside. */
int cgroup_open_self_attach(const struct cgroup *cg, int fds[static 2]);
int cgroup_attach_self(const int fds[static 2]);
/* Moves pid into the cgroup(s). */
int cgroup_attach(const struct cgroup *cg, pid_t pid);
/* After the run: whether the kernel OOM-killed something, the peak memory
 * in bytes (0 when unknown). */
int cgroup_result(const struct cgroup *cg, bool *ret_oom, uint64_t *ret_peak);
/* Kills whatever is left and removes the directories. Safe on a zeroed struct. */
void cgroup_destroy(struct cgroup *cg);
