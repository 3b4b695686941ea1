/* SPDX-License-Identifier: MIT */
/* Builds the sandbox's root filesystem from the policy's mount list, inside
 * the new mount namespace, and pivots into it. Runs in the sandbox's init
 * (pid 1) while it still holds every capability of its user namespace. */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

#include "policy/policy.h"
#include "util/error.h"

#define ROOTFS_MAX_OWN 64

struct rootfs {
        int *src_fds;              /* per mount entry: detached clone of a bind source, or -1 */
        size_t n;
        dev_t own[ROOTFS_MAX_OWN]; /* superblocks we created: the only places we create mountpoints */
        size_t n_own;
        int ro_after[ROOTFS_MAX_OWN]; /* mounts made read-only once filled in (root, /dev, /sys) */
        size_t n_ro_after;
};

/* Step 1, before anything is mounted over: make the host's mounts slaves of
 * ours and take detached clones of every bind source (so a source under /tmp
 * survives the staging tmpfs that hides it). */
int rootfs_prepare(const struct policy *p, struct rootfs *rf, struct moat_error *e);

/* Step 2: build the tree in a staging tmpfs, pivot_root into it, drop the old
 * root, and make "/" read-only. */
int rootfs_build(const struct policy *p, struct rootfs *rf, struct moat_error *e);

void rootfs_done(struct rootfs *rf);

/* The curated /etc (etc.c): allowlisted host entries and synthesized
 * passwd, group, hosts, hostname, nsswitch.conf. etcfd is the empty etc
 * directory on the staging tmpfs. */
int etc_build(const struct policy *p, int etcfd, struct moat_error *e);
