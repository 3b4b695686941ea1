/* SPDX-License-Identifier: MIT */
/* Dispatch only: find the subcommand and hand over. */
#include <string.h>

#include "cmd/cmd.h"
#include "util/log.h"
#include "util/strv.h"

static const struct {
        const char *name;
        int (*fn)(int, char **);
} commands[] = {
        { "run", cmd_run },         { "explain", cmd_explain }, { "doctor", cmd_doctor },
        { "help", cmd_help },       { "--help", cmd_help },     { "-h", cmd_help },
        { "version", cmd_version }, { "--version", cmd_version },
        { "get", cmd_get },
        { "api", cmd_api },         { "box", cmd_box },
        { "list", cmd_list },       { "up", cmd_up },           { "down", cmd_down },
        { "install", cmd_install }, { "rebuild", cmd_rebuild }, { "prune", cmd_prune },
        { "serve", cmd_serve },     { "mcp", cmd_mcp },         { "info", cmd_info },
        { "examples", cmd_examples },
};

int main(int argc, char **argv)
{
        log_clock_start();
        /* A symlink named after a tool (`moat up`) runs that tool's profile. */
        const char *base = argc > 0 && argv[0] ? strrchr(argv[0], '/') : NULL;
        base = base ? base + 1 : (argc > 0 && argv[0] ? argv[0] : "moat");
        if (*base && strcmp(base, "moat") != 0 && !str_startswith(base, "moat-") && !str_startswith(base, "moat."))
                return cmd_run_tool(base, argc, argv);
        if (argc < 2)
                return cmd_help(argc, argv) == 0 ? 2 : 2;
        for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
                if (strcmp(argv[1], commands[i].name) == 0)
                        return commands[i].fn(argc - 1, argv + 1);
        const char *names[] = { "run", "explain", "doctor", "help", "version", "api", "box",
                                "list", "up", "down", "install", "rebuild", "prune",
                                "get", "serve", "mcp", "info", "examples" };
        char esc[256];
        const char *s = str_suggest(argv[1], names, ARRAY_SIZE(names));
        if (s)
                log_error("unknown command '%s' (did you mean '%s'?)", log_escape(argv[1], esc, sizeof esc), s);
        else
                log_error("unknown command '%s'; see 'moat help'", log_escape(argv[1], esc, sizeof esc));
        return 125;
}
