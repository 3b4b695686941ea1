/* SPDX-License-Identifier: MIT */
/* Tools installed by mise, in a sandbox, into moat's volumes.
 *
 * Install phase: the user's mise runs inside a sandbox that sees only the
 * mise binary (read-only), the tool's volume (read-write) and the network
 * of the backend's registry (through the egress proxy). What it prints as
 * the tool's PATH is recorded in $XDG_DATA_HOME/moat/installed/NAME.json.
 *
 * Run phase: the volume is mounted read-only at the same path and the
 * recorded directories go first on PATH, so a tool cannot change its own or
 * another tool's installed code. mise itself is not run. */
#pragma once

#include <stdbool.h>

#include "cli/run_args.h"
#include "profile/profile.h"
#include "util/error.h"

/* For a profile with a tool: installs it when missing (install true) and
 * adds the volume and PATH entries to o. Without install, a missing tool is
 * only described (explain). A profile without a tool runs a command of the
 * root filesystem: nothing to do. */
int tool_prepare_run(const struct profile *p, struct run_options *o, bool install, struct moat_error *e);

/* Installs p's tool now, replacing an earlier install (moat install,
 * moat rebuild). Returns 0 or -errno with e filled in. */
int tool_install(const struct profile *p, struct moat_error *e);

/* Installs p's tool from scratch (moat rebuild of an isolated tool): mise
 * runs in staging, an empty directory on the volume's file system that the
 * install sees at the volume's own path (paths written into installed files
 * stay right). Only when the install succeeds are staging and the volume
 * swapped in one rename and the install recorded, so a failed rebuild leaves
 * the old install working. Either way staging then holds what is not in use
 * (the old volume, or the failed attempt) and the caller removes it. */
int tool_install_staged(const struct profile *p, const char *staging, struct moat_error *e);

/* Whether p's tool is installed as the profile now asks (same spec, same
 * dependencies, same volume). */
bool tool_installed(const struct profile *p);

/* The volume a profile's tool is installed in: shared, or its own when
 * "isolated". */
int tool_volume(const struct profile *p, char *buf, size_t size);
