/* SPDX-License-Identifier: MIT */
/* `moat run --lang L -c CODE | FILE | (stdin)`: the code runner from the
 * command line. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "runner/runner.h"
#include "util/json_read.h"
#include "util/log.h"
#include "util/strv.h"

/* Reads all of fd, refusing more than max bytes. */
static int read_all(int fd, size_t max, char **ret, size_t *ret_len)
{
        size_t len = 0, cap = 8192;
        char *buf = malloc(cap);
        if (!buf)
                return -ENOMEM;
        for (;;) {
                if (len == cap) {
                        if (cap > max) {
                                free(buf);
                                return -EFBIG;
                        }
                        char *nb = realloc(buf, cap *= 2);
                        if (!nb) {
                                free(buf);
                                return -ENOMEM;
                        }
                        buf = nb;
                }
                ssize_t n = read(fd, buf + len, cap - len);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0) {
                        int r = negerrno();
                        free(buf);
                        return r;
                }
                if (n == 0)
                        break;
                len += (size_t)n;
        }
        if (len > max) {
                free(buf);
                return -EFBIG;
        }
        *ret = buf;
        *ret_len = len;
        return 0;
}

int cmd_code_run(struct run_options *o)
{
        struct moat_error e = { 0 };
        struct runner_request req = { .lang = o->lang, .capture = o->json };
        _cleanup_free_ char *code = NULL;
        size_t code_len = 0;
        int r, status = 125;
        const size_t max_code = 64u << 20; /* the limit sets' own caps come after */

        if (!o->lang) {
                log_error("run: -c/--code needs --lang (%s)", lang_names());
                goto out;
        }
        if (o->code) {
                if (o->argv) {
                        log_error("run: --lang with -c runs the snippet; drop the extra argument '%s'", o->argv[0]);
                        goto out;
                }
                code = strdup(o->code);
                code_len = code ? strlen(code) : 0;
                req.code_name = "snippet";
        } else if (o->argv) {
                if (o->argv[1]) {
                        log_error("run: --lang runs one FILE; '%s' is one too many", o->argv[1]);
                        goto out;
                }
                r = jv_read_file(AT_FDCWD, o->argv[0], max_code, &code, &code_len);
                if (r < 0) {
                        log_error("%s: %s", o->argv[0], r == -EINVAL ? "not a regular file" : strerror(-r));
                        goto out;
                }
                req.code_name = o->argv[0];
        } else {
                if (isatty(STDIN_FILENO))
                        log_info("reading %s code from the terminal; end it with Ctrl-D", o->lang);
                r = read_all(STDIN_FILENO, max_code, &code, &code_len);
                if (r < 0) {
                        log_error("reading the code from stdin: %s", strerror(-r));
                        goto out;
                }
                req.code_name = "stdin";
        }
        if (!code) {
                log_error("out of memory");
                goto out;
        }
        req.code = code;
        req.code_len = code_len;
        /* A snippet runs in an empty sandbox: no project unless named. */
        o->no_cwd = true;
        if (runner_settle(o, &req, &e) < 0) {
                log_error("%s", e.msg);
                goto out;
        }
        struct runner_result res;
        if (runner_exec(o, &req, &res, &e) < 0) {
                log_error("%s", e.msg);
                goto out;
        }
        status = res.status;
        if (o->json) {
                struct json j = { 0 };
                runner_result_json(&res, &req, &j);
                const char *t = json_text(&j);
                if (t)
                        printf("%s\n", t);
                json_free(&j);
        }
        runner_result_free(&res);
out:
        run_options_free(o);
        return status;
}
