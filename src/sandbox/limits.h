/* SPDX-License-Identifier: MIT */
/* rlimits: always applied, whatever cgroups the system offers. */
#pragma once

#include "policy/policy.h"

/* Sets the rlimits for the command (called in the child before execve).
 * Returns 0 or -errno. Core dumps are always off: a dump of a tool's memory
 * may hold the very secrets the sandbox keeps from it, and lands in the
 * project. */
int limits_apply_rlimits(const struct limits *l);
