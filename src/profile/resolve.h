/* SPDX-License-Identifier: MIT */
/* `moat run NAME ARGS...` and a symlink named NAME: when NAME is a profile,
 * the run's options become the profile's, with the command line's laid over
 * them. */
#pragma once

#include <stdbool.h>

#include "cli/run_args.h"
#include "util/error.h"

enum resolve_mode {
        RESOLVE_MAYBE,    /* `moat run WORD`: a profile if one is named WORD, else a command */
        RESOLVE_REQUIRED, /* a symlink: WORD must be a profile */
};

/* On a profile, replaces *o by the merged options, with argv = the profile's
 * command and args, then the user's arguments. install: install the tool
 * first when it is missing (run), or only describe it (explain). Returns 1
 * when a profile was applied, 0 when o names a plain command, or -errno
 * with e filled in. */
int profile_resolve(struct run_options *o, enum resolve_mode mode, bool install, struct moat_error *e);
