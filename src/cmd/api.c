/* SPDX-License-Identifier: MIT */
/* `moat api [REQUEST]`: one JSON request (the argument, or stdin) in, one
 * JSON response out, for agents and services. The request's fields:
 *
 *   {"lang": "python", "code": "print(1)"}     a snippet
 *   {"command": ["sh", "-c", "echo hi"]}        a command of the system
 *   "stdin": "...", "profile": "safe|fast|dev", "mode": "strict|balanced|dev",
 *   "limits": {"memory": MiB, "pids", "cpu_time", "timeout", "nofile",
 *              "fsize", "tmpfs_size", "output": bytes},
 *   "allow": ["host", ...] (egress by name), "env": {"NAME": "value"}
 *
 * Unknown fields are refused. The response is the runner's result object,
 * or {"status": 125, "error": "..."}; the exit status is the run's. */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "runner/api.h"
#include "util/json_read.h"
#include "util/log.h"
#include "util/strv.h"

#define API_MAX_REQUEST (8u << 20)

static void respond_error(const char *msg)
{
        struct json j = { 0 };
        json_begin_object(&j);
        json_int(&j, "status", 125);
        json_str(&j, "error", msg);
        json_end_object(&j);
        const char *t = json_text(&j);
        printf("%s\n", t ? t : "{\"status\":125,\"error\":\"out of memory\"}");
        json_free(&j);
}

int cmd_api(int argc, char **argv)
{
        _cleanup_free_ char *text = NULL;
        size_t len = 0;
        if (argc > 2 || (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0))) {
                printf("Usage: moat api [REQUEST]\n\nOne JSON request (the argument, or stdin) in, one JSON response "
                       "out.\nSee moat(1), section API, for the fields.\n");
                return argc == 2 ? 0 : 125;
        }
        if (argc == 2) {
                len = strlen(argv[1]);
                if (len > API_MAX_REQUEST) {
                        respond_error("the request is larger than 8 MiB");
                        return 125;
                }
                text = strdup(argv[1]);
        } else {
                size_t cap = 0;
                for (;;) {
                        if (len + 65536 > cap) {
                                if (cap > API_MAX_REQUEST) {
                                        respond_error("the request is larger than 8 MiB");
                                        return 125;
                                }
                                char *nb = realloc(text, cap = cap ? cap * 2 : 65536);
                                if (!nb) {
                                        respond_error("out of memory");
                                        return 125;
                                }
                                text = nb;
                        }
                        ssize_t n = read(STDIN_FILENO, text + len, cap - len - 1);
                        if (n < 0 && errno == EINTR)
                                continue;
                        if (n <= 0)
                                break;
                        len += (size_t)n;
                }
                if (len > API_MAX_REQUEST) {
                        respond_error("the request is larger than 8 MiB");
                        return 125;
                }
        }
        if (!text) {
                respond_error("no request: pass it as the argument or on stdin");
                return 125;
        }
        struct jv_error je;
        _cleanup_jv_free_ struct jv *v = jv_parse(text, len, &je);
        if (!v) {
                char msg[256];
                snprintf(msg, sizeof msg, "request:%u:%u: %s", je.line, je.col, je.msg);
                respond_error(msg);
                return 125;
        }
        struct json j = { 0 };
        int status = api_handle(v, &j);
        const char *t = json_text(&j);
        printf("%s\n", t ? t : "{\"status\":125,\"error\":\"out of memory\"}");
        json_free(&j);
        return status;
}
