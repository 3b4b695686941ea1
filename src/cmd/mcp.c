/* SPDX-License-Identifier: MIT */
/* `moat mcp`: the code runner as a Model Context Protocol server on stdio
 * (server/mcp.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "server/mcp.h"
#include "util/json_read.h"
#include "util/log.h"
#include "util/strv.h"

static void usage(void)
{
        printf("Usage: moat mcp [--policy FILE] [--workers N]\n"
               "\n"
               "A Model Context Protocol server on stdin and stdout, for MCP clients:\n"
               "  claude mcp add moat -- moat mcp\n"
               "Tools: run_code (language, code) and run_command (command), each with optional\n"
               "stdin, profile (safe, fast, dev) and timeout, in a fresh sandbox every call; and\n"
               "box_create, box_run, box_list, box_history, box_reset, box_remove for sandboxes\n"
               "whose workspace persists.\n"
               "\n"
               "  --policy FILE   ceilings for every call (see moat run --policy)\n"
               "  --workers N     calls run at once (default 4); more wait\n"
               "  -h, --help      this help\n");
}

int cmd_mcp(int argc, char **argv)
{
        struct mcp_config c = { .workers = 4 };
        _cleanup_free_ char *policy = NULL;
        for (int i = 1; i < argc; i++) {
                const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
                char esc[256];
                if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
                        usage();
                        return 0;
                } else if (strcmp(a, "--policy") == 0 || str_startswith(a, "--policy=")) {
                        if (a[8] == '=')
                                v = a + 9;
                        else
                                i++;
                        if (!v) {
                                log_error("mcp: --policy needs a FILE");
                                return 125;
                        }
                        free(policy);
                        policy = realpath(v, NULL);
                        _cleanup_free_ char *text = NULL;
                        size_t len;
                        struct jv_error je;
                        int r = policy ? jv_read_file(AT_FDCWD, policy, 1 << 20, &text, &len) : -errno;
                        _cleanup_jv_free_ struct jv *pv = r == 0 ? jv_parse(text, len, &je) : NULL;
                        if (r < 0) {
                                log_error("mcp: --policy %s: %s", log_escape(v, esc, sizeof esc),
                                          r == -EINVAL ? "not a regular file" : strerror(-r));
                                return 125;
                        }
                        if (!pv) {
                                log_error("mcp: %s:%u:%u: %s", log_escape(v, esc, sizeof esc), je.line, je.col, je.msg);
                                return 125;
                        }
                } else if (strcmp(a, "--workers") == 0 || str_startswith(a, "--workers=")) {
                        if (a[9] == '=')
                                v = a + 10;
                        else
                                i++;
                        char *end;
                        long n = v ? strtol(v, &end, 10) : 0;
                        if (!v || !*v || *end || n < 1 || n > 64) {
                                log_error("mcp: --workers: expected a whole number from 1 to 64");
                                return 125;
                        }
                        c.workers = (unsigned)n;
                } else {
                        log_error("mcp: unknown option '%s'; see moat mcp --help", log_escape(a, esc, sizeof esc));
                        return 125;
                }
        }
        c.policy_file = policy;
        return mcp_run(&c);
}
