/* SPDX-License-Identifier: MIT */
/* Box operations as JSON requests ("op": "box.create", "box.run", "box.ls",
 * "box.history", "box.reset", "box.rm"), shared by moat api, serve and mcp. */
#pragma once

#include <stdbool.h>

#include "util/json.h"
#include "util/json_read.h"

struct api_settings;

bool api_is_box_op(const char *op);
/* Handles one box request and writes its response object into j, under a
 * server's settings (s may be NULL: see runner/api.h). Returns the exit
 * status (a run's own, 0 for other successes, 125 on errors). */
int api_box_handle(const char *op, const struct jv *v, const struct api_settings *s, struct json *j);
