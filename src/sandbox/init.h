/* SPDX-License-Identifier: MIT */
/* The sandbox's pid 1: builds the root, starts the command, reaps, forwards
 * signals, and reports the command's status. */
#pragma once

#include "policy/policy.h"

/* Runs in the child of clone(CLONE_NEWUSER|...). Never returns. */
_Noreturn void init_main(const struct policy *p, int ctl, bool use_pty, bool landlock);
