/* SPDX-License-Identifier: MIT */
/* Helpers shared by the commands that manage tool profiles (list, up, down,
 * install, rebuild, prune). */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "profile/profile.h"
#include "util/error.h"

/* path with the user's home shortened to "~" and control characters
 * escaped, for messages and tables. */
const char *tools_display_path(const char *path, char *buf, size_t size);

/* Loads the profile NAME for a command that was given NAME: a missing
 * profile is an error saying where to write one. */
int tools_load(const char *name, struct profile *p, struct moat_error *e);

/* Whether argv[i] asks for help. */
bool tools_is_help(const char *arg);
