/* SPDX-License-Identifier: MIT */
/* Boxes: sandboxes that persist. A box is a directory,
 * $XDG_DATA_HOME/moat/boxes/NAME, holding
 *   box.json       its settings (the `moat run` flags it was created with)
 *   workspace/     the working directory, mounted read-write as the project
 *   home/          $HOME inside, bound instead of the usual empty tmpfs
 *   history.jsonl  one line per execution: what ran and how it ended
 *   lock           held (flock) while a run uses the box
 * Every run is a fresh sandbox over the same workspace and home: what a run
 * wrote is there next time, and nothing is replayed. */
#pragma once

#include <stdbool.h>

#include "cli/run_args.h"
#include "runner/runner.h"
#include "util/error.h"
#include "util/json.h"

#define BOX_NAME_MAX 64

/* [A-Za-z0-9._-], not starting with '.' or '-', at most 64 bytes. */
bool box_name_valid(const char *name);

/* Creates the box with its settings: `moat run` flags (limits, --profile,
 * --mode, --net/--allow, --env), checked here and stored as written.
 * Refuses an existing name. */
int box_create(const char *name, int nflags, char *const *flags, struct moat_error *e);
/* Removes the box and everything in it. */
int box_remove(const char *name, struct moat_error *e);
/* Empties the workspace and home; keeps the settings and the history. */
int box_reset(const char *name, struct moat_error *e);

/* Runs in the box: o holds the command (argv) or the runner request holds
 * the code; the box's settings are laid under o. Holds the box's lock for
 * the run: a second run at the same time gets a clear "busy" error.
 * Appends the outcome to the history. */
int box_run(const char *name, struct run_options *o, struct runner_request *req, struct runner_result *res,
            struct moat_error *e);
/* The same for an interactive shell: the terminal is passed through. */
int box_shell(const char *name, struct run_options *o, struct moat_error *e);

/* Writes a JSON array of the boxes (name, created, runs, last status). */
int box_list_json(struct json *j, struct moat_error *e);
/* Writes a JSON array of a box's executions, oldest first. */
int box_history_json(const char *name, struct json *j, struct moat_error *e);
