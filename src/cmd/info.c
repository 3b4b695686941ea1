/* SPDX-License-Identifier: MIT */
/* `moat info [--json]`: version, the protections in force here, the
 * languages installed, the limit sets and the modes (runner/info.h). */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "cmd/cmd.h"
#include "runner/info.h"
#include "util/log.h"

int cmd_info(int argc, char **argv)
{
        bool json = false;
        for (int i = 1; i < argc; i++) {
                if (strcmp(argv[i], "--json") == 0)
                        json = true;
                else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
                        printf("Usage: moat info [--json]\n\n"
                               "moat's version, the protections in force on this machine, the languages\n"
                               "installed, the limit sets (--profile) and the modes (--mode).\n");
                        return 0;
                } else {
                        char esc[256];
                        log_error("info: unknown option '%s'; see moat info --help",
                                  log_escape(argv[i], esc, sizeof esc));
                        return 125;
                }
        }
        struct system_facts f;
        probe_system(&f);
        if (json) {
                struct json j = { 0 };
                info_json(&f, &j);
                const char *t = json_text(&j);
                if (t)
                        printf("%s\n", t);
                json_free(&j);
                if (!t) {
                        log_error("info: out of memory");
                        return 125;
                }
        } else
                info_text(&f, stdout);
        if (fflush(stdout) != 0 || ferror(stdout)) {
                log_error("info: writing: %s", strerror(errno ? errno : EIO));
                return 125;
        }
        return 0;
}
