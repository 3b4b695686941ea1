/* SPDX-License-Identifier: MIT */
/* Requests to the code runner as JSON (moat api, moat serve, moat mcp):
 *
 *   {"lang": "python", "code": "print(1)"}     a snippet
 *   {"command": ["sh", "-c", "echo hi"]}        a command of the system
 *   "stdin": "...", "profile": "safe|fast|dev", "mode": "strict|balanced|dev",
 *   "limits": {"memory": MiB, "pids", "cpu_time", "timeout", "nofile",
 *              "fsize", "tmpfs_size", "output": bytes},
 *   "allow": ["host", ...] (egress by name), "env": {"NAME": "value"}
 *
 * Unknown fields are refused with their position. */
#include "runner/api.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runner/api_box.h"
#include "util/log.h"
#include "util/strv.h"

static int want_string(const struct jv_member *m, struct moat_error *e)
{
        if (m->value->type == JV_STRING)
                return 0;
        return error_set(e, EINVAL, "request:%u:%u: \"%s\": expected a string, found %s", m->value->line,
                         m->value->col, m->key, jv_type_name(m->value->type));
}

static int string_list(const struct jv_member *m, char ***ret, struct moat_error *e)
{
        if (m->value->type != JV_ARRAY)
                return error_set(e, EINVAL, "request:%u:%u: \"%s\": expected an array of strings", m->value->line,
                                 m->value->col, m->key);
        for (size_t i = 0; i < m->value->arr.n; i++) {
                const struct jv *s = m->value->arr.items[i];
                if (s->type != JV_STRING)
                        return error_set(e, EINVAL, "request:%u:%u: \"%s[%zu]\": expected a string", s->line, s->col,
                                         m->key, i);
                if (strv_push(ret, s->str.s) < 0)
                        return -ENOMEM;
        }
        return 0;
}

/* From the request to `moat run` options and the runner's request. */
int api_request_parse(const struct jv *v, struct run_options *o, struct runner_request *req, struct moat_error *e)
{
        static const char *const fields[] = { "op", "lang", "code", "command", "stdin", "profile", "mode",
                                              "limits", "allow", "env" };
        int r;
        memset(o, 0, sizeof *o);
        o->json_fd = -1;
        o->no_cwd = true;
        memset(req, 0, sizeof *req);
        req->capture = true;
        if (v->type != JV_OBJECT)
                return error_set(e, EINVAL, "request:%u:%u: a request is a JSON object", v->line, v->col);
        for (size_t i = 0; i < v->obj.n; i++) {
                const struct jv_member *m = &v->obj.members[i];
                const struct jv *x = m->value;
                if (strcmp(m->key, "op") == 0) {
                        if (x->type != JV_STRING || strcmp(x->str.s, "run") != 0)
                                return error_set(e, EINVAL, "request:%u:%u: \"op\": a run request has \"op\": \"run\"",
                                                 x->line, x->col);
                } else if (strcmp(m->key, "lang") == 0) {
                        if ((r = want_string(m, e)) < 0 || !(o->lang = strdup(x->str.s)))
                                return r < 0 ? r : -ENOMEM;
                        req->lang = o->lang;
                } else if (strcmp(m->key, "code") == 0) {
                        if ((r = want_string(m, e)) < 0)
                                return r;
                        req->code = x->str.s;
                        req->code_len = x->str.len;
                        req->code_name = "snippet";
                } else if (strcmp(m->key, "command") == 0) {
                        if ((r = string_list(m, &o->argv, e)) < 0)
                                return r;
                        if (!o->argv)
                                return error_set(e, EINVAL, "request:%u:%u: \"command\" is empty", x->line, x->col);
                } else if (strcmp(m->key, "stdin") == 0) {
                        if ((r = want_string(m, e)) < 0)
                                return r;
                        req->stdin_data = x->str.s;
                        req->stdin_len = x->str.len;
                } else if (strcmp(m->key, "profile") == 0) {
                        if ((r = want_string(m, e)) < 0 || !(o->limit_set = strdup(x->str.s)))
                                return r < 0 ? r : -ENOMEM;
                } else if (strcmp(m->key, "mode") == 0) {
                        if ((r = want_string(m, e)) < 0 || !(o->mode = strdup(x->str.s)))
                                return r < 0 ? r : -ENOMEM;
                } else if (strcmp(m->key, "allow") == 0) {
                        if ((r = string_list(m, &o->allow, e)) < 0)
                                return r;
                        if (o->allow)
                                o->net = NET_PROXY;
                } else if (strcmp(m->key, "env") == 0) {
                        if (x->type != JV_OBJECT)
                                return error_set(e, EINVAL, "request:%u:%u: \"env\": expected an object", x->line, x->col);
                        for (size_t k = 0; k < x->obj.n; k++) {
                                const struct jv_member *em = &x->obj.members[k];
                                if (em->value->type != JV_STRING || !em->key[0] || strchr(em->key, '='))
                                        return error_set(e, EINVAL, "request:%u:%u: \"env.%s\": expected a string value "
                                                         "and a name without '='", em->line, em->col, em->key);
                                char *kv = str_printf("%s=%s", em->key, em->value->str.s);
                                if (!kv || strv_consume(&o->env_set, kv) < 0) {
                                        free(kv);
                                        return -ENOMEM;
                                }
                        }
                } else if (strcmp(m->key, "limits") == 0) {
                        if (x->type != JV_OBJECT)
                                return error_set(e, EINVAL, "request:%u:%u: \"limits\": expected an object", x->line,
                                                 x->col);
                        for (size_t k = 0; k < x->obj.n; k++) {
                                const struct jv_member *lm = &x->obj.members[k];
                                const struct jv *n = lm->value;
                                if (n->type != JV_NUMBER || !n->num.is_int || n->num.i < 1 || n->num.i > (1ll << 40))
                                        return error_set(e, EINVAL, "request:%u:%u: \"limits.%s\": expected a whole "
                                                         "number from 1", n->line, n->col, lm->key);
                                if (strcmp(lm->key, "output") == 0) {
                                        o->output_limit = (uint64_t)n->num.i;
                                        continue;
                                }
                                const struct limit_field *f = limit_field_find(lm->key);
                                if (!f)
                                        return error_set(e, EINVAL, "request:%u:%u: \"limits\": unknown limit \"%s\" "
                                                         "(memory, pids, cpu_time, timeout, nofile, fsize, tmpfs_size, "
                                                         "output)", lm->line, lm->col, lm->key);
                                *limit_ref(&o->limits, f) = (uint64_t)n->num.i;
                                o->limits_set |= f->bit;
                        }
                } else {
                        const char *s = str_suggest(m->key, fields, ARRAY_SIZE(fields));
                        char esc[128];
                        return error_set(e, EINVAL, "request:%u:%u: \"%s\": unknown field%s%s%s", m->line, m->col,
                                         log_escape(m->key, esc, sizeof esc), s ? " (did you mean \"" : "",
                                         s ? s : "", s ? "\"?)" : "");
                }
        }
        if (!req->lang && !o->argv)
                return error_set(e, EINVAL, "request: needs \"lang\" and \"code\", or \"command\"");
        if (req->lang && !req->code)
                return error_set(e, EINVAL, "request: \"lang\" needs \"code\"");
        if (req->lang && o->argv)
                return error_set(e, EINVAL, "request: give \"lang\" and \"code\", or \"command\", not both");
        if (o->argv) {
                o->dashdash = true;
                if (!o->argv[0])
                        return error_set(e, EINVAL, "request: \"command\" is empty");
        }
        return 0;
}

/* Runs one parsed request and writes its response into j. Returns the
 * run's exit status. */
int api_handle(const struct jv *v, struct json *j)
{
        return api_handle_with(v, NULL, j);
}

int api_handle_with(const struct jv *v, const struct api_settings *s, struct json *j)
{
        const struct jv *op = jv_get(v, "op");
        if (op && op->type == JV_STRING && api_is_box_op(op->str.s))
                return api_box_handle(op->str.s, v, s, j);
        struct run_options o;
        struct runner_request req;
        struct moat_error e = { 0 };
        int status = 125;
        int r = api_request_parse(v, &o, &req, &e);
        /* A request cannot name a policy: the server's is the one. */
        if (r == 0 && s && s->policy_file && !(o.policy_file = strdup(s->policy_file)))
                r = -ENOMEM;
        if (r == 0)
                r = runner_settle(&o, &req, &e);
        struct runner_result res = { 0 };
        if (r == 0)
                r = runner_exec(&o, &req, &res, &e);
        if (r < 0) {
                if (!e.msg[0])
                        error_set(&e, -r, "%s", strerror(-r));
                json_begin_object(j);
                json_int(j, "status", 125);
                json_str(j, "error", e.msg);
                json_end_object(j);
        } else {
                runner_result_json(&res, &req, j);
                status = res.status;
        }
        runner_result_free(&res);
        run_options_free(&o);
        return status;
}

