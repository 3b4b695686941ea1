/* SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <string.h>

#include "cli/run_args.h"
#include "cmd/cmd.h"
#include "config.h"

int cmd_help(int argc, char **argv)
{
        if (argc >= 2 && (strcmp(argv[1], "run") == 0 || strcmp(argv[1], "explain") == 0)) {
                help_run(argv[1]);
                return 0;
        }
        printf("moat %s: run untrusted developer tools and coding agents in a sandbox\n\n"
               "Usage:\n"
               "  moat run [OPTIONS] [--] COMMAND [ARGS...]   run COMMAND sandboxed\n"
               "  moat run [OPTIONS] TOOL [ARGS...]           run a tool by its profile (also: TOOL, via moat up)\n"
               "  moat run --lang L [-c CODE | FILE]          run code: python, bash, sh, node (--json)\n"
               "  moat api [REQUEST]                          one JSON request in, one JSON result out\n"
               "  moat box create|run|exec|shell|ls|...       sandboxes whose workspace and home persist\n"
               "  moat explain [OPTIONS] [--] COMMAND         print the policy, run nothing\n"
               "  moat doctor [--json]                        what this system allows\n"
               "  moat list [--json]                          the tool profiles, where each came from\n"
               "  moat up|down [--dir DIR]                    link each tool's name to moat (~/.local/bin)\n"
               "  moat install NAME...                        install tools now\n"
               "  moat rebuild [NAME...]                      install tools again, old kept on failure\n"
               "  moat prune [--yes]                          remove caches and unused volumes\n"
               "  moat get NAME... [--force] [--yes]          save profiles from moat's store, after showing them\n"
               "  moat serve --socket PATH [OPTIONS]          the code runner on a Unix socket (JSON lines)\n"
               "  moat mcp                                    the code runner as an MCP server on stdio\n"
               "  moat info [--json]                          protections, languages, limit sets, modes\n"
               "  moat examples                               commands to copy\n"
               "  moat help [run]                             this help, or run's options\n"
               "  moat version\n\n"
               "By default the command sees the current directory (read-write, with git hooks,\n"
               "editor and agent settings kept read-only), the system's programs read-only,\n"
               "and nothing of your home, secrets, network, processes or devices.\n\n"
               "Exit status: the command's own; 124 timeout, 125 moat error, 126 not\n"
               "executable, 127 not found, 128+N killed by signal N, 137 out of memory.\n"
               "See moat(1).\n",
               MOAT_VERSION);
        return 0;
}

int cmd_version(int argc, char **argv)
{
        (void)argc;
        (void)argv;
        printf("moat %s\n", MOAT_VERSION);
        return 0;
}

void help_run(const char *cmd)
{
        size_t n;
        const struct run_flag *f = run_flags(&n);
        printf("Usage: moat %s [OPTIONS] [--] COMMAND [ARGS...]\n\nOptions:\n", cmd);
        for (size_t i = 0; i < n; i++) {
                char left[64];
                snprintf(left, sizeof left, "%s%s%s", f[i].name, f[i].arg ? " " : "", f[i].arg ? f[i].arg : "");
                printf("  %-32s %s\n", left, f[i].help);
        }
        printf("\nDefaults: no network, memory half of RAM, %d processes, %d open files,\n"
               "%d MiB tmpfs for /tmp and $HOME. 0 disables a limit.\n",
               DEFAULT_PIDS, DEFAULT_NOFILE, DEFAULT_TMPFS_MIB);
}
