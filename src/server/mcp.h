/* SPDX-License-Identifier: MIT */
/* `moat mcp`: a Model Context Protocol server over stdio (JSON-RPC 2.0,
 * one message per line), so that MCP clients (Claude Code, Codex, the
 * official SDKs) call the code runner as tools.
 *
 * The lifecycle follows the spec: initialize answers with the client's
 * protocol version when it is one of ours (else our latest), and
 * declares the tools capability; ping; tools/list with JSON schemas;
 * tools/call. Notifications get no response; notifications/cancelled
 * stops the call it names. Malformed JSON is -32700, a message that is no
 * request -32600, an unknown method -32601, malformed parameters (no tool
 * name, an unknown tool) -32602; arguments that break a tool's schema are
 * a tool error (isError) the model can read and correct, as the spec asks.
 *
 * The tools: run_code and run_command (a fresh sandbox each), and
 * box_create, box_run, box_list, box_history, box_reset and box_remove
 * (runner/box.h). Each call is the request of a `moat serve` operation
 * (server/ops.h), run the same way: as a job (server/job.h), up to
 * `workers` at once, more wait; stdin stays read meanwhile, so pings and
 * cancellations are answered during a long run, and results go out in
 * the order the runs end. At end of input, runs in flight finish and their results are
 * written, then it exits; SIGTERM stops the runs. */
#pragma once

struct mcp_config {
        const char *policy_file; /* ceilings for every call, or NULL */
        unsigned workers;
};

int mcp_run(const struct mcp_config *c);
