/* SPDX-License-Identifier: MIT */
/* The tools `moat mcp` offers, each a name, a JSON schema for its
 * arguments, and the `moat serve` operation (server/ops.h) a call becomes:
 *   run_code, run_command      "run": a fresh sandbox each time
 *   box_create, box_run, box_list, box_history, box_reset, box_remove
 *                              the "box.*" operations (runner/box.h)
 * A new tool is one row of the table in mcp_tools.c. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "util/json.h"
#include "util/json_read.h"

struct mcp_tool;

struct mcp_tools_env {
        const char *langs; /* the languages installed, for messages */
        bool structured;   /* the protocol has outputSchema and structuredContent (2025-06-18 on) */
};

const struct mcp_tool *mcp_tool_find(const char *name);
/* The "tools" member of the tools/list result. */
void mcp_tools_list(const struct mcp_tools_env *env, struct json *j);
/* The operation's request for a call's arguments into req, or false with a
 * message for the model in msg: arguments that break the schema are the
 * model's to correct. */
bool mcp_tool_request(const struct mcp_tool *t, const struct mcp_tools_env *env, const struct jv *args,
                      struct json *req, char *msg, size_t size);
/* What the model reads for the operation's response body (malloc'd, NULL
 * when out of memory), and whether the call failed (isError). */
char *mcp_tool_text(const struct mcp_tool *t, const char *body, bool *failed);
