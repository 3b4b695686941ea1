/* SPDX-License-Identifier: MIT */
/* Box operations as JSON requests, for moat api, serve and mcp:
 *
 *   {"op": "box.create", "box": "NAME", "profile": "dev", "limits": {...},
 *    "allow": [...], "env": {...}, "mode": "..."}
 *   {"op": "box.run", "box": "NAME", ...the run fields (lang+code or command)}
 *   {"op": "box.ls"}  {"op": "box.history", "box": "NAME"}
 *   {"op": "box.reset", "box": "NAME"}  {"op": "box.rm", "box": "NAME"}
 */
#include "runner/api_box.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runner/api.h"
#include "runner/box.h"
#include "util/strv.h"

static void error_object(struct json *j, const char *msg)
{
        json_begin_object(j);
        json_int(j, "status", 125);
        json_str(j, "error", msg);
        json_end_object(j);
}

static void ok_object(struct json *j, const char *op, const char *box)
{
        json_begin_object(j);
        json_int(j, "status", 0);
        json_bool(j, "ok", true);
        json_str(j, "op", op);
        json_str(j, "box", box);
        json_end_object(j);
}

bool api_is_box_op(const char *op)
{
        return op && strncmp(op, "box.", 4) == 0;
}

/* The box's settings from a request: the same fields a run takes, kept as
 * `moat run` flags so the box reads them back the way the CLI writes them. */
static int settings_to_flags(const struct jv *v, char ***flags, struct moat_error *e)
{
        for (size_t i = 0; i < v->obj.n; i++) {
                const struct jv_member *m = &v->obj.members[i];
                const struct jv *x = m->value;
                int r = 0;
                if (strcmp(m->key, "op") == 0 || strcmp(m->key, "box") == 0)
                        continue;
                if ((strcmp(m->key, "profile") == 0 || strcmp(m->key, "mode") == 0) && x->type == JV_STRING) {
                        if ((r = strv_push(flags, strcmp(m->key, "profile") == 0 ? "--profile" : "--mode")) < 0 ||
                            (r = strv_push(flags, x->str.s)) < 0)
                                return r;
                } else if (strcmp(m->key, "allow") == 0 && x->type == JV_ARRAY) {
                        for (size_t k = 0; k < x->arr.n; k++) {
                                if (x->arr.items[k]->type != JV_STRING)
                                        return error_set(e, EINVAL, "request: \"allow\" holds strings");
                                if ((r = strv_push(flags, "--allow")) < 0 ||
                                    (r = strv_push(flags, x->arr.items[k]->str.s)) < 0)
                                        return r;
                        }
                } else if (strcmp(m->key, "env") == 0 && x->type == JV_OBJECT) {
                        for (size_t k = 0; k < x->obj.n; k++) {
                                const struct jv_member *em = &x->obj.members[k];
                                if (em->value->type != JV_STRING)
                                        return error_set(e, EINVAL, "request: \"env.%s\" must be a string", em->key);
                                _cleanup_free_ char *kv = str_printf("%s=%s", em->key, em->value->str.s);
                                if (!kv || (r = strv_push(flags, "--env")) < 0 || (r = strv_push(flags, kv)) < 0)
                                        return r < 0 ? r : -ENOMEM;
                        }
                } else if (strcmp(m->key, "limits") == 0 && x->type == JV_OBJECT) {
                        for (size_t k = 0; k < x->obj.n; k++) {
                                const struct jv_member *lm = &x->obj.members[k];
                                const struct limit_field *f = limit_field_find(lm->key);
                                const char *flag = f ? f->flag : strcmp(lm->key, "output") == 0 ? "--output-limit" : NULL;
                                if (!flag || lm->value->type != JV_NUMBER || !lm->value->num.is_int ||
                                    lm->value->num.i < 1)
                                        return error_set(e, EINVAL, "request: \"limits.%s\": unknown, or not a whole "
                                                         "number from 1", lm->key);
                                char n[32];
                                snprintf(n, sizeof n, "%lld", lm->value->num.i);
                                if ((r = strv_push(flags, flag)) < 0 || (r = strv_push(flags, n)) < 0)
                                        return r;
                        }
                } else
                        return error_set(e, EINVAL, "request:%u:%u: \"%s\": not a box setting (profile, mode, limits, "
                                         "allow, env)", m->line, m->col, m->key);
        }
        return 0;
}

int api_box_handle(const char *op, const struct jv *v, const struct api_settings *s, struct json *j)
{
        struct moat_error e = { 0 };
        const struct jv *name_v = jv_get(v, "box");
        const char *name = name_v && name_v->type == JV_STRING ? name_v->str.s : NULL;
        int r;
        if (strcmp(op, "box.ls") == 0) {
                struct json list = { 0 };
                if (box_list_json(&list, &e) < 0) {
                        json_free(&list);
                        error_object(j, e.msg);
                        return 125;
                }
                _cleanup_jv_free_ struct jv *arr = json_text(&list) ? jv_parse(json_text(&list), strlen(json_text(&list)),
                                                                               NULL) : NULL;
                json_free(&list);
                json_begin_object(j);
                json_int(j, "status", 0);
                json_begin_array(j, "boxes");
                for (size_t i = 0; arr && i < arr->arr.n; i++) {
                        const struct jv *b = arr->arr.items[i], *runs = jv_get(b, "runs"), *last = jv_get(b, "last_status");
                        json_begin_object(j);
                        jv_write(j, "name", jv_get(b, "name"));
                        json_int(j, "runs", runs ? runs->num.i : 0);
                        if (last && last->type == JV_NUMBER)
                                json_int(j, "last_status", last->num.i);
                        else
                                json_null(j, "last_status");
                        json_end_object(j);
                }
                json_end_array(j);
                json_end_object(j);
                return 0;
        }
        if (!name) {
                error_object(j, "request: \"box\" (the box's name, a string) is needed");
                return 125;
        }
        if (strcmp(op, "box.create") == 0) {
                _cleanup_strv_free_ char **flags = NULL;
                if ((r = settings_to_flags(v, &flags, &e)) < 0 ||
                    (r = box_create(name, (int)strv_length(flags), flags, &e)) < 0) {
                        error_object(j, e.msg[0] ? e.msg : strerror(-r));
                        return 125;
                }
                ok_object(j, op, name);
                return 0;
        }
        if (strcmp(op, "box.reset") == 0 || strcmp(op, "box.rm") == 0) {
                r = strcmp(op, "box.reset") == 0 ? box_reset(name, &e) : box_remove(name, &e);
                if (r < 0) {
                        error_object(j, e.msg);
                        return 125;
                }
                ok_object(j, op, name);
                return 0;
        }
        if (strcmp(op, "box.history") == 0) {
                struct json h = { 0 };
                if (box_history_json(name, &h, &e) < 0) {
                        json_free(&h);
                        error_object(j, e.msg);
                        return 125;
                }
                _cleanup_jv_free_ struct jv *arr = json_text(&h) ? jv_parse(json_text(&h), strlen(json_text(&h)), NULL)
                                                                 : NULL;
                json_free(&h);
                json_begin_object(j);
                json_int(j, "status", 0);
                json_str(j, "box", name);
                if (arr)
                        jv_write(j, "history", arr);
                json_end_object(j);
                return 0;
        }
        if (strcmp(op, "box.run") == 0) {
                /* The run fields, without "op" and "box". */
                struct run_options o;
                struct runner_request req;
                struct jv copy = *v;
                struct jv_member *members = calloc(v->obj.n ? v->obj.n : 1, sizeof *members);
                if (!members) {
                        error_object(j, "out of memory");
                        return 125;
                }
                size_t n = 0;
                for (size_t i = 0; i < v->obj.n; i++)
                        if (strcmp(v->obj.members[i].key, "op") != 0 && strcmp(v->obj.members[i].key, "box") != 0)
                                members[n++] = v->obj.members[i];
                copy.obj.members = members;
                copy.obj.n = n;
                r = api_request_parse(&copy, &o, &req, &e);
                /* A server's ceilings hold in a box too. */
                if (r == 0 && s && s->policy_file && !(o.policy_file = strdup(s->policy_file)))
                        r = error_set(&e, ENOMEM, "out of memory");
                struct runner_result res = { 0 };
                if (r == 0)
                        r = box_run(name, &o, &req, &res, &e);
                free(members);
                int status = 125;
                if (r < 0)
                        error_object(j, e.msg[0] ? e.msg : strerror(-r));
                else {
                        runner_result_json(&res, &req, j);
                        status = res.status;
                }
                runner_result_free(&res);
                run_options_free(&o);
                return status;
        }
        char msg[160];
        snprintf(msg, sizeof msg, "unknown op \"%.40s\" (box.create, box.run, box.ls, box.history, box.reset, box.rm)",
                 op);
        error_object(j, msg);
        return 125;
}
