/* SPDX-License-Identifier: MIT */
/* One JSON request to the code runner, and its response. */
#pragma once

#include "cli/run_args.h"
#include "runner/runner.h"
#include "util/json.h"
#include "util/json_read.h"

/* Parses a request object into run options and the runner's request (which
 * points into v: keep v alive). Returns 0 or -errno with e filled in. */
int api_request_parse(const struct jv *v, struct run_options *o, struct runner_request *req, struct moat_error *e);
/* Runs one request and writes its response object into j: the runner's
 * result, or {"status": 125, "error": "..."}. Returns the exit status. */
int api_handle(const struct jv *v, struct json *j);

/* What a server imposes on every request it runs (moat serve, moat mcp). */
struct api_settings {
        const char *policy_file; /* ceilings (--policy FILE), or NULL */
};
/* api_handle under the server's settings (s may be NULL). */
int api_handle_with(const struct jv *v, const struct api_settings *s, struct json *j);
