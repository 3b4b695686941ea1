/* SPDX-License-Identifier: MIT */
/* `moat box create|ls|run|exec|shell|history|reset|rm`: sandboxes that
 * persist (src/runner/box.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "runner/box.h"
#include "util/json_read.h"
#include "util/log.h"
#include "util/strv.h"

static void usage(FILE *f)
{
        fprintf(f, "Usage:\n"
                   "  moat box create NAME [RUN OPTIONS]     limits, --profile, --mode, --net/--allow, --env\n"
                   "  moat box ls [--json]\n"
                   "  moat box run NAME [--json] -- CMD [ARGS...]\n"
                   "  moat box run NAME [--json] --lang L -c CODE\n"
                   "  moat box exec NAME [--json] FILE       by extension: .py .sh .bash .js\n"
                   "  moat box shell NAME\n"
                   "  moat box history NAME [--json]\n"
                   "  moat box reset NAME                    empty the workspace and home, keep settings\n"
                   "  moat box rm NAME\n"
                   "A box keeps its workspace (the working directory) and $HOME between runs.\n");
}

static int print_json(struct json *j)
{
        const char *t = json_text(j);
        if (t)
                printf("%s\n", t);
        json_free(j);
        return t ? 0 : 125;
}

static int fail(struct moat_error *e)
{
        log_error("%s", e->msg);
        return e->exit_status ? e->exit_status : 125;
}

static const char *lang_for_file(const char *file)
{
        const char *dot = strrchr(file, '.');
        if (!dot)
                return NULL;
        if (strcmp(dot, ".py") == 0)
                return "python";
        if (strcmp(dot, ".sh") == 0)
                return "sh";
        if (strcmp(dot, ".bash") == 0)
                return "bash";
        if (strcmp(dot, ".js") == 0 || strcmp(dot, ".mjs") == 0)
                return "node";
        return NULL;
}

/* box run / box exec: options, then the command or code. */
static int box_run_cmd(const char *sub, int argc, char **argv)
{
        struct moat_error e = { 0 };
        if (argc < 1) {
                usage(stderr);
                return 125;
        }
        const char *name = argv[0];
        struct run_options o;
        if (run_args_parse(sub, argc - 1, argv + 1, &o, &e) < 0) {
                run_options_free(&o);
                return fail(&e);
        }
        struct runner_request req = { .capture = o.json, .lang = o.lang };
        _cleanup_free_ char *code = NULL;
        int status = 125;
        if (strcmp(sub, "box exec") == 0) {
                if (!o.argv || o.argv[1]) {
                        log_error("box exec %s FILE: one file to run", name);
                        goto out;
                }
                const char *lang = o.lang ? o.lang : lang_for_file(o.argv[0]);
                if (!lang) {
                        log_error("box exec %s: cannot tell the language of %s (.py, .sh, .bash, .js; or --lang)", name,
                                  o.argv[0]);
                        goto out;
                }
                size_t len;
                int r = jv_read_file(AT_FDCWD, o.argv[0], 64u << 20, &code, &len);
                if (r < 0) {
                        log_error("%s: %s", o.argv[0], r == -EINVAL ? "not a regular file" : strerror(-r));
                        goto out;
                }
                req.lang = lang;
                req.code = code;
                req.code_len = len;
                req.code_name = o.argv[0];
                strv_free(o.argv);
                o.argv = NULL;
        } else if (o.lang) {
                if (!o.code) {
                        log_error("box run %s --lang %s: give the code with -c", name, o.lang);
                        goto out;
                }
                req.code = o.code;
                req.code_len = strlen(o.code);
                req.code_name = "snippet";
        } else if (!o.argv) {
                log_error("box run %s: no command (moat box run %s -- CMD, or --lang L -c CODE)", name, name);
                goto out;
        }
        bool json = o.json;
        o.json = false;
        struct runner_result res;
        if (box_run(name, &o, &req, &res, &e) < 0) {
                status = fail(&e);
                goto out;
        }
        status = res.status;
        if (json) {
                struct json j = { 0 };
                runner_result_json(&res, &req, &j);
                print_json(&j);
        }
        runner_result_free(&res);
out:
        run_options_free(&o);
        return status;
}

static void print_history_table(const char *text)
{
        _cleanup_jv_free_ struct jv *v = jv_parse(text, strlen(text), NULL);
        if (!v || v->type != JV_ARRAY)
                return;
        if (v->arr.n == 0) {
                printf("no runs yet\n");
                return;
        }
        printf("%-4s %-20s %-7s %-9s %s\n", "#", "STARTED", "STATUS", "TIME", "WHAT");
        for (size_t i = 0; i < v->arr.n; i++) {
                const struct jv *h = v->arr.items[i];
                const struct jv *st = jv_get(h, "started"), *status = jv_get(h, "status"), *dur = jv_get(h, "duration_ms"),
                                *lang = jv_get(h, "language"), *cmd = jv_get(h, "command");
                char when[32] = "?", what[128] = "", esc[256];
                if (st && st->type == JV_NUMBER) {
                        time_t t = (time_t)st->num.i;
                        struct tm tm;
                        strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", localtime_r(&t, &tm));
                }
                if (lang && lang->type == JV_STRING)
                        snprintf(what, sizeof what, "%s snippet", lang->str.s);
                else if (cmd && cmd->type == JV_ARRAY)
                        for (size_t k = 0; k < cmd->arr.n && strlen(what) < sizeof what - 2; k++)
                                if (cmd->arr.items[k]->type == JV_STRING)
                                        snprintf(what + strlen(what), sizeof what - strlen(what), "%s%s", k ? " " : "",
                                                 cmd->arr.items[k]->str.s);
                printf("%-4zu %-20s %-7lld %-9.0f %s\n", i + 1, when,
                       status && status->type == JV_NUMBER ? status->num.i : -1LL,
                       dur && dur->type == JV_NUMBER ? dur->num.d : 0.0, log_escape(what, esc, sizeof esc));
        }
}

int cmd_box(int argc, char **argv)
{
        struct moat_error e = { 0 };
        if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
                usage(argc < 2 ? stderr : stdout);
                return argc < 2 ? 125 : 0;
        }
        const char *sub = argv[1];
        bool json = argc > 2 && strcmp(argv[argc - 1], "--json") == 0;
        if (strcmp(sub, "create") == 0) {
                if (argc < 3) {
                        log_error("box create NAME [RUN OPTIONS]: a name is needed");
                        return 125;
                }
                if (box_create(argv[2], argc - 3, argv + 3, &e) < 0)
                        return fail(&e);
                log_info("created box %s", argv[2]);
                return 0;
        }
        if (strcmp(sub, "ls") == 0 || strcmp(sub, "list") == 0) {
                struct json j = { 0 };
                if (box_list_json(&j, &e) < 0) {
                        json_free(&j);
                        return fail(&e);
                }
                if (json)
                        return print_json(&j);
                _cleanup_jv_free_ struct jv *v = json_text(&j) ? jv_parse(json_text(&j), strlen(json_text(&j)), NULL) : NULL;
                json_free(&j);
                if (!v || v->arr.n == 0) {
                        printf("no boxes (moat box create NAME)\n");
                        return 0;
                }
                printf("%-24s %-6s %s\n", "NAME", "RUNS", "LAST STATUS");
                for (size_t i = 0; i < v->arr.n; i++) {
                        const struct jv *b = v->arr.items[i], *runs = jv_get(b, "runs"), *last = jv_get(b, "last_status");
                        char ls[16] = "-";
                        if (last && last->type == JV_NUMBER)
                                snprintf(ls, sizeof ls, "%lld", last->num.i);
                        printf("%-24s %-6lld %s\n", jv_get(b, "name")->str.s, runs ? runs->num.i : 0LL, ls);
                }
                return 0;
        }
        if (strcmp(sub, "run") == 0)
                return box_run_cmd("box run", argc - 2, argv + 2);
        if (strcmp(sub, "exec") == 0)
                return box_run_cmd("box exec", argc - 2, argv + 2);
        const char *subs[] = { "create", "ls", "run", "exec", "shell", "history", "reset", "rm" };
        bool known = false;
        for (size_t i = 0; i < ARRAY_SIZE(subs); i++)
                known |= strcmp(sub, subs[i]) == 0;
        if (!known && strcmp(sub, "remove") != 0) {
                const char *s = str_suggest(sub, subs, ARRAY_SIZE(subs));
                log_error("box: unknown command '%s'%s%s%s", sub, s ? " (did you mean '" : "", s ? s : "",
                          s ? "'?)" : "; see moat box --help");
                return 125;
        }
        if (argc < 3) {
                log_error("box %s NAME: a name is needed", sub);
                return 125;
        }
        const char *name = argv[2];
        if (strcmp(sub, "shell") == 0) {
                struct run_options o;
                if (run_args_parse("box shell", argc - 3, argv + 3, &o, &e) < 0) {
                        run_options_free(&o);
                        return fail(&e);
                }
                int r = box_shell(name, &o, &e);
                return r < 0 ? fail(&e) : r;
        }
        if (strcmp(sub, "history") == 0) {
                struct json j = { 0 };
                if (box_history_json(name, &j, &e) < 0) {
                        json_free(&j);
                        return fail(&e);
                }
                if (json)
                        return print_json(&j);
                if (json_text(&j))
                        print_history_table(json_text(&j));
                json_free(&j);
                return 0;
        }
        if (strcmp(sub, "reset") == 0) {
                if (box_reset(name, &e) < 0)
                        return fail(&e);
                log_info("box %s emptied (settings and history kept)", name);
                return 0;
        }
        if (strcmp(sub, "rm") == 0 || strcmp(sub, "remove") == 0) {
                if (box_remove(name, &e) < 0)
                        return fail(&e);
                log_info("removed box %s", name);
                return 0;
        }
        return 125;
}
