/* SPDX-License-Identifier: MIT */
#include "server/ops.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runner/api_box.h"
#include "util/log.h"
#include "util/strv.h"

static void op_run(const char *op, const struct jv *req, const struct op_context *c, struct json *j)
{
        (void)op;
        (void)api_handle_with(req, &c->api, j);
}

static bool no_fields(const struct jv *req, const char *op, struct json *j)
{
        if (req->obj.n == 0)
                return true;
        char esc[128];
        op_error(j, "bad_request", "request:%u:%u: \"%s\": unknown field (\"%s\" takes none)", req->obj.members[0].line,
                 req->obj.members[0].col, log_escape(req->obj.members[0].key, esc, sizeof esc), op);
        return false;
}

static void op_ping(const char *op, const struct jv *req, const struct op_context *c, struct json *j)
{
        (void)c;
        if (!no_fields(req, op, j))
                return;
        json_begin_object(j);
        json_bool(j, "ok", true);
        json_end_object(j);
}

static void op_info(const char *op, const struct jv *req, const struct op_context *c, struct json *j)
{
        if (!no_fields(req, op, j))
                return;
        if (c->info_json)
                json_raw(j, NULL, c->info_json, strlen(c->info_json));
        else
                op_error(j, "internal", "info is not available");
}

/* The box operations are moat api's (runner/api_box.h): the same request
 * fields ("box" names the box) and the same answers, under the server's
 * settings. */
static void op_box(const char *op, const struct jv *req, const struct op_context *c, struct json *j)
{
        (void)api_box_handle(op, req, &c->api, j);
}

/* Box operations touch files (a removal may be long) or run: all are jobs,
 * so the loop never waits on a disk. */
static const struct serve_op ops[] = {
        { "run", OP_JOB, op_run },
        { "ping", OP_INLINE, op_ping },
        { "info", OP_INLINE, op_info },
        { "box.create", OP_JOB, op_box },
        { "box.run", OP_JOB, op_box },
        { "box.ls", OP_JOB, op_box },
        { "box.history", OP_JOB, op_box },
        { "box.reset", OP_JOB, op_box },
        { "box.rm", OP_JOB, op_box },
};

const struct serve_op *serve_op_find(const char *name)
{
        for (size_t i = 0; i < ARRAY_SIZE(ops); i++)
                if (strcmp(ops[i].name, name) == 0)
                        return &ops[i];
        return NULL;
}

const char *serve_op_names(void)
{
        static char names[256];
        if (!names[0]) {
                size_t len = 0;
                for (size_t i = 0; i < ARRAY_SIZE(ops) && len < sizeof names; i++)
                        len += (size_t)snprintf(names + len, sizeof names - len, "%s%s", i ? ", " : "", ops[i].name);
        }
        return names;
}

void op_error(struct json *j, const char *code, const char *fmt, ...)
{
        char msg[1024];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof msg, fmt, ap);
        va_end(ap);
        json_begin_object(j);
        json_int(j, "status", 125);
        json_str(j, "error", msg);
        json_str(j, "code", code);
        json_end_object(j);
}

int op_request_split(const struct jv *v, struct op_request *ret, struct json *err)
{
        memset(ret, 0, sizeof *ret);
        if (v->type != JV_OBJECT) {
                op_error(err, "bad_request", "request:%u:%u: a request is a JSON object, not %s", v->line, v->col,
                         jv_type_name(v->type));
                return -EINVAL;
        }
        const char *name = "run";
        const struct jv_member *om = jv_member_get(v, "op");
        if (om) {
                if (om->value->type != JV_STRING) {
                        op_error(err, "bad_request", "request:%u:%u: \"op\": expected a string, found %s",
                                 om->value->line, om->value->col, jv_type_name(om->value->type));
                        return -EINVAL;
                }
                name = om->value->str.s;
        }
        const struct jv_member *im = jv_member_get(v, "id");
        if (im) {
                const struct jv *id = im->value;
                if (id->type != JV_STRING && !(id->type == JV_NUMBER && id->num.is_int)) {
                        op_error(err, "bad_request", "request:%u:%u: \"id\": expected a string or a whole number",
                                 id->line, id->col);
                        return -EINVAL;
                }
                ret->id = id;
        }
        ret->op = serve_op_find(name);
        if (!ret->op) {
                char esc[128];
                const char *s = NULL;
                const char *names[ARRAY_SIZE(ops)];
                for (size_t i = 0; i < ARRAY_SIZE(ops); i++)
                        names[i] = ops[i].name;
                s = str_suggest(name, names, ARRAY_SIZE(names));
                op_error(err, "unknown_op", "request:%u:%u: unknown op \"%s\"%s%s%s (known: %s)", om->value->line,
                         om->value->col, log_escape(name, esc, sizeof esc), s ? " (did you mean \"" : "", s ? s : "",
                         s ? "\"?)" : "", serve_op_names());
                return -EINVAL;
        }
        ret->view = *v;
        ret->view.obj.members = NULL;
        ret->view.obj.n = 0;
        if (v->obj.n) {
                ret->view.obj.members = calloc(v->obj.n, sizeof *ret->view.obj.members);
                if (!ret->view.obj.members) {
                        op_error(err, "internal", "out of memory");
                        return -ENOMEM;
                }
        }
        for (size_t i = 0; i < v->obj.n; i++)
                if (&v->obj.members[i] != om && &v->obj.members[i] != im)
                        ret->view.obj.members[ret->view.obj.n++] = v->obj.members[i];
        return 0;
}

void op_request_done(struct op_request *r)
{
        free(r->view.obj.members);
        memset(r, 0, sizeof *r);
}

int op_response_line(const struct jv *id, const char *body, struct json *out)
{
        if (!id || body[0] != '{') {
                json_raw(out, NULL, body, strlen(body));
                return out->oom ? -ENOMEM : 0;
        }
        json_begin_object(out);
        if (id->type == JV_STRING)
                json_str(out, "id", id->str.s);
        else
                json_int(out, "id", id->num.i);
        /* The body's members follow the id's. */
        const char *rest = body + 1;
        while (*rest == ' ')
                rest++;
        if (*rest != '}')
                json_raw(out, NULL, rest, strlen(rest)); /* ",\"status\":...}" */
        else
                json_end_object(out);
        return out->oom ? -ENOMEM : 0;
}
