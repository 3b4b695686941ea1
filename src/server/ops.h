/* SPDX-License-Identifier: MIT */
/* The operations `moat serve` answers: one JSON object per request, its
 * "op" naming the operation ("run" when absent), an optional "id" echoed
 * in the response, and the operation's own fields.
 *
 *   {"op": "run", "lang": "python", "code": "print(1)"}   the runner (moat api's fields)
 *   {"op": "ping"}                                        {"ok": true}
 *   {"op": "info"}                                        what `moat info --json` prints
 *   {"op": "box.create", "box": "b", "profile": "dev", ...}  and box.run, box.ls,
 *                                                        box.history, box.reset, box.rm:
 *                                                        moat api's (runner/api_box.h)
 *
 * An operation either answers at once in the server's loop (cheap, no
 * process) or runs as a job in a forked child that counts against the
 * server's workers and queue. A new operation is one row of the table in
 * ops.c. */
#pragma once

#include <stdbool.h>

#include "runner/api.h"
#include "util/json.h"
#include "util/json_read.h"

struct op_context {
        struct api_settings api; /* imposed on every run */
        const char *info_json;   /* `moat info --json`, computed when the server started */
};

enum op_kind {
        OP_INLINE, /* answered in the server's loop: must not block */
        OP_JOB,    /* a forked child; counts against --workers and --queue */
        _OP_KIND_MAX,
};

struct serve_op {
        const char *name;
        enum op_kind kind;
        /* Writes the response object. op is the operation's name; req is
         * the request without "op" and "id". */
        void (*handle)(const char *op, const struct jv *req, const struct op_context *c, struct json *j);
};

const struct serve_op *serve_op_find(const char *name);
/* "run, ping, info" */
const char *serve_op_names(void);

/* A request taken apart: the operation, the id to echo, and a view of the
 * object without "op" and "id" (its members array is owned here; the
 * values belong to the parsed tree). */
struct op_request {
        const struct serve_op *op;
        const struct jv *id; /* NULL, a string or an integer */
        struct jv view;
};
/* Returns 0, or -EINVAL with the error response written into err. */
int op_request_split(const struct jv *v, struct op_request *ret, struct json *err);
void op_request_done(struct op_request *r);

/* {"status": 125, "error": MSG, "code": CODE}: the error object every
 * server-level refusal uses; code is a stable word for programs
 * ("bad_request", "too_large", "unknown_op", "busy", "stopping",
 * "internal"). */
void op_error(struct json *j, const char *code, const char *fmt, ...) _printf_(3, 4);

/* The response line: body with the request's id (if any) put first. */
int op_response_line(const struct jv *id, const char *body, struct json *out);
