/* SPDX-License-Identifier: MIT */
/* The tools of `moat mcp`: their JSON schemas, the `moat serve` operation
 * each call becomes (server/ops.h), and the text the model reads back. */
#include "server/mcp_tools.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runner/runner.h"
#include "util/json_read.h"
#include "util/log.h"
#include "util/strv.h"

/* ---- run_code, run_command ---- */

static void schema_common(struct json *j)
{
        json_key_object(j, "stdin");
        json_str(j, "type", "string");
        json_str(j, "description", "Text given to the program on its standard input (default: none).");
        json_end_object(j);
        json_key_object(j, "profile");
        json_str(j, "type", "string");
        json_begin_array(j, "enum");
        size_t n;
        const struct limit_set *sets = limit_sets(&n);
        for (size_t i = 0; i < n; i++)
                json_str(j, NULL, sets[i].name);
        json_end_array(j);
        json_str(j, "description", "Limit set: safe (default: 256 MiB, 30 s, 64 processes), fast (512 MiB, 60 s) "
                 "or dev (2 GiB, 15 min).");
        json_end_object(j);
        json_key_object(j, "timeout");
        json_str(j, "type", "integer");
        json_int(j, "minimum", 1);
        json_int(j, "maximum", 86400);
        json_str(j, "description", "Wall-clock limit in seconds (default: the profile's).");
        json_end_object(j);
}

static void schema_run_code(const struct mcp_tools_env *env, struct json *j)
{
        json_str(j, "type", "object");
        json_key_object(j, "properties");
        json_key_object(j, "language");
        json_str(j, "type", "string");
        json_begin_array(j, "enum");
        size_t n;
        const struct lang *langs = lang_all(&n);
        bool any = false;
        char path[128];
        for (size_t i = 0; i < n; i++)
                if (lang_path(&langs[i], path, sizeof path)) {
                        json_str(j, NULL, langs[i].name);
                        any = true;
                }
        for (size_t i = 0; i < n && !any; i++)
                json_str(j, NULL, langs[i].name);
        json_end_array(j);
        json_str(j, "description", "The interpreter for the code.");
        json_end_object(j);
        json_key_object(j, "code");
        json_str(j, "type", "string");
        json_str(j, "description", "The program's source code.");
        json_end_object(j);
        schema_common(j);
        json_end_object(j);
        json_begin_array(j, "required");
        json_str(j, NULL, "language");
        json_str(j, NULL, "code");
        json_end_array(j);
        json_bool(j, "additionalProperties", false);
        (void)env;
}

static void schema_run_command(const struct mcp_tools_env *env, struct json *j)
{
        (void)env;
        json_str(j, "type", "object");
        json_key_object(j, "properties");
        json_key_object(j, "command");
        json_str(j, "type", "array");
        json_key_object(j, "items");
        json_str(j, "type", "string");
        json_end_object(j);
        json_int(j, "minItems", 1);
        json_str(j, "description", "The program and its arguments, run without a shell (use [\"sh\", \"-c\", "
                 "\"...\"] for one). Programs come from the system's /usr.");
        json_end_object(j);
        schema_common(j);
        json_end_object(j);
        json_begin_array(j, "required");
        json_str(j, NULL, "command");
        json_end_array(j);
        json_bool(j, "additionalProperties", false);
}

/* The runner's result object, as the tools return it in structuredContent. */
static void schema_result(struct json *j)
{
        static const struct {
                const char *name, *type, *type2;
        } props[] = {
                { "status", "integer", NULL },      { "exit_code", "integer", "null" }, { "signal", "integer", "null" },
                { "stdout", "string", NULL },       { "stderr", "string", NULL },       { "timed_out", "boolean", NULL },
                { "oom_killed", "boolean", NULL },  { "output_truncated", "boolean", NULL },
                { "duration_ms", "number", NULL },  { "error", "string", NULL },
        };
        json_key_object(j, "outputSchema");
        json_str(j, "type", "object");
        json_key_object(j, "properties");
        for (size_t i = 0; i < ARRAY_SIZE(props); i++) {
                json_key_object(j, props[i].name);
                if (props[i].type2) {
                        json_begin_array(j, "type");
                        json_str(j, NULL, props[i].type);
                        json_str(j, NULL, props[i].type2);
                        json_end_array(j);
                } else
                        json_str(j, "type", props[i].type);
                json_end_object(j);
        }
        json_end_object(j);
        json_begin_array(j, "required");
        json_str(j, NULL, "status");
        json_end_array(j);
        json_end_object(j);
}

/* Arguments: a message for the model when they do not fit the schema. */
static const struct jv *arg(const struct jv *args, const char *name, enum jv_type type, bool required, char *msg,
                            size_t size, bool *bad)
{
        const struct jv *v = jv_get(args, name);
        if (!v) {
                if (required) {
                        snprintf(msg, size, "\"%s\" is required", name);
                        *bad = true;
                }
                return NULL;
        }
        if (v->type != type) {
                snprintf(msg, size, "\"%s\": expected %s, found %s", name,
                         type == JV_NUMBER ? "an integer" : type == JV_STRING ? "a string" : "an array",
                         jv_type_name(v->type));
                *bad = true;
                return NULL;
        }
        return v;
}

static bool args_known(const struct jv *args, const char *const *known, size_t n, char *msg, size_t size)
{
        for (size_t i = 0; i < args->obj.n; i++) {
                const char *k = args->obj.members[i].key;
                size_t f = 0;
                while (f < n && strcmp(known[f], k) != 0)
                        f++;
                if (f == n) {
                        char esc[128];
                        const char *s = str_suggest(k, known, n);
                        snprintf(msg, size, "\"%s\": unknown argument%s%s%s", log_escape(k, esc, sizeof esc),
                                 s ? " (did you mean \"" : "", s ? s : "", s ? "\"?)" : "");
                        return false;
                }
        }
        return true;
}

/* stdin, profile and timeout, into the request being written. */
static bool args_common(const struct jv *args, struct json *req, char *msg, size_t size)
{
        bool bad = false;
        const struct jv *in = arg(args, "stdin", JV_STRING, false, msg, size, &bad);
        const struct jv *profile = arg(args, "profile", JV_STRING, false, msg, size, &bad);
        const struct jv *timeout = arg(args, "timeout", JV_NUMBER, false, msg, size, &bad);
        if (bad)
                return false;
        if (profile && !limit_set_find(profile->str.s)) {
                char esc[64];
                snprintf(msg, size, "\"profile\": \"%s\" is not a limit set (safe, fast or dev)",
                         log_escape(profile->str.s, esc, sizeof esc));
                return false;
        }
        if (timeout && (!timeout->num.is_int || timeout->num.i < 1 || timeout->num.i > 86400)) {
                snprintf(msg, size, "\"timeout\": expected a whole number of seconds from 1 to 86400");
                return false;
        }
        if (in)
                json_strn(req, "stdin", in->str.s, in->str.len);
        if (profile)
                json_str(req, "profile", profile->str.s);
        if (timeout) {
                json_key_object(req, "limits");
                json_int(req, "timeout", timeout->num.i);
                json_end_object(req);
        }
        return true;
}

static bool request_run_code(const struct mcp_tools_env *env, const struct jv *args, struct json *req, char *msg, size_t size)
{
        static const char *const known[] = { "language", "code", "stdin", "profile", "timeout" };
        bool bad = false;
        if (!args_known(args, known, ARRAY_SIZE(known), msg, size))
                return false;
        const struct jv *lang = arg(args, "language", JV_STRING, true, msg, size, &bad);
        const struct jv *code = arg(args, "code", JV_STRING, true, msg, size, &bad);
        if (bad)
                return false;
        if (!lang_find(lang->str.s)) {
                char esc[64];
                snprintf(msg, size, "\"language\": \"%s\" is not one of %s", log_escape(lang->str.s, esc, sizeof esc),
                         env->langs);
                return false;
        }
        json_begin_object(req);
        json_str(req, "op", "run");
        json_str(req, "lang", lang->str.s);
        json_strn(req, "code", code->str.s, code->str.len);
        if (!args_common(args, req, msg, size))
                return false;
        json_end_object(req);
        return true;
}

static bool request_run_command(const struct mcp_tools_env *env, const struct jv *args, struct json *req, char *msg, size_t size)
{
        (void)env;
        static const char *const known[] = { "command", "stdin", "profile", "timeout" };
        bool bad = false;
        if (!args_known(args, known, ARRAY_SIZE(known), msg, size))
                return false;
        const struct jv *cmd = arg(args, "command", JV_ARRAY, true, msg, size, &bad);
        if (bad)
                return false;
        if (cmd->arr.n == 0) {
                snprintf(msg, size, "\"command\" is empty: give the program and its arguments");
                return false;
        }
        json_begin_object(req);
        json_str(req, "op", "run");
        json_begin_array(req, "command");
        for (size_t i = 0; i < cmd->arr.n; i++) {
                if (cmd->arr.items[i]->type != JV_STRING) {
                        snprintf(msg, size, "\"command[%zu]\": expected a string", i);
                        return false;
                }
                json_strn(req, NULL, cmd->arr.items[i]->str.s, cmd->arr.items[i]->str.len);
        }
        json_end_array(req);
        if (!args_common(args, req, msg, size))
                return false;
        json_end_object(req);
        return true;
}

/* ---- boxes ---- */

static void schema_name(struct json *j, const char *what)
{
        json_key_object(j, "name");
        json_str(j, "type", "string");
        json_str(j, "pattern", "^[A-Za-z0-9_][A-Za-z0-9._-]{0,63}$");
        json_str(j, "description", what);
        json_end_object(j);
}

static void schema_only_name(const struct mcp_tools_env *env, struct json *j)
{
        (void)env;
        json_str(j, "type", "object");
        json_key_object(j, "properties");
        schema_name(j, "The box's name.");
        json_end_object(j);
        json_begin_array(j, "required");
        json_str(j, NULL, "name");
        json_end_array(j);
        json_bool(j, "additionalProperties", false);
}

static void schema_nothing(const struct mcp_tools_env *env, struct json *j)
{
        (void)env;
        json_str(j, "type", "object");
        json_key_object(j, "properties");
        json_end_object(j);
        json_bool(j, "additionalProperties", false);
}

static void schema_box_create(const struct mcp_tools_env *env, struct json *j)
{
        (void)env;
        json_str(j, "type", "object");
        json_key_object(j, "properties");
        schema_name(j, "A name for the box: letters, digits, '.', '_' and '-'.");
        json_key_object(j, "profile");
        json_str(j, "type", "string");
        json_begin_array(j, "enum");
        size_t n;
        const struct limit_set *sets = limit_sets(&n);
        for (size_t i = 0; i < n; i++)
                json_str(j, NULL, sets[i].name);
        json_end_array(j);
        json_str(j, "description", "The limit set of every run in the box (default safe).");
        json_end_object(j);
        json_key_object(j, "timeout");
        json_str(j, "type", "integer");
        json_int(j, "minimum", 1);
        json_int(j, "maximum", 86400);
        json_str(j, "description", "Wall-clock limit of each run, in seconds.");
        json_end_object(j);
        json_end_object(j);
        json_begin_array(j, "required");
        json_str(j, NULL, "name");
        json_end_array(j);
        json_bool(j, "additionalProperties", false);
}

static void schema_box_run(const struct mcp_tools_env *env, struct json *j)
{
        json_str(j, "type", "object");
        json_key_object(j, "properties");
        schema_name(j, "The box to run in (made with box_create).");
        json_key_object(j, "language");
        json_str(j, "type", "string");
        json_begin_array(j, "enum");
        size_t n;
        const struct lang *langs = lang_all(&n);
        for (size_t i = 0; i < n; i++)
                json_str(j, NULL, langs[i].name);
        json_end_array(j);
        json_str(j, "description", "With code: the interpreter (installed: see run_code).");
        json_end_object(j);
        json_key_object(j, "code");
        json_str(j, "type", "string");
        json_str(j, "description", "The program's source code (with language).");
        json_end_object(j);
        json_key_object(j, "command");
        json_str(j, "type", "array");
        json_key_object(j, "items");
        json_str(j, "type", "string");
        json_end_object(j);
        json_int(j, "minItems", 1);
        json_str(j, "description", "Instead of language and code: a program and its arguments, without a shell.");
        json_end_object(j);
        json_key_object(j, "stdin");
        json_str(j, "type", "string");
        json_str(j, "description", "Text given on standard input.");
        json_end_object(j);
        json_key_object(j, "timeout");
        json_str(j, "type", "integer");
        json_int(j, "minimum", 1);
        json_int(j, "maximum", 86400);
        json_str(j, "description", "Wall-clock limit in seconds (default: the box's).");
        json_end_object(j);
        json_end_object(j);
        json_begin_array(j, "required");
        json_str(j, NULL, "name");
        json_end_array(j);
        json_bool(j, "additionalProperties", false);
        (void)env;
}

static bool request_box_name(const char *op, const struct jv *args, struct json *req, char *msg, size_t size)
{
        static const char *const known[] = { "name" };
        bool bad = false;
        if (!args_known(args, known, ARRAY_SIZE(known), msg, size))
                return false;
        const struct jv *name = arg(args, "name", JV_STRING, true, msg, size, &bad);
        if (bad)
                return false;
        json_begin_object(req);
        json_str(req, "op", op);
        json_str(req, "box", name->str.s);
        json_end_object(req);
        return true;
}

static bool request_box_history(const struct mcp_tools_env *env, const struct jv *args, struct json *req, char *msg, size_t size)
{
        (void)env;
        return request_box_name("box.history", args, req, msg, size);
}

static bool request_box_reset(const struct mcp_tools_env *env, const struct jv *args, struct json *req, char *msg, size_t size)
{
        (void)env;
        return request_box_name("box.reset", args, req, msg, size);
}

static bool request_box_remove(const struct mcp_tools_env *env, const struct jv *args, struct json *req, char *msg, size_t size)
{
        (void)env;
        return request_box_name("box.rm", args, req, msg, size);
}

static bool request_box_list(const struct mcp_tools_env *env, const struct jv *args, struct json *req, char *msg, size_t size)
{
        (void)env;
        if (!args_known(args, NULL, 0, msg, size))
                return false;
        json_begin_object(req);
        json_str(req, "op", "box.ls");
        json_end_object(req);
        return true;
}

static bool request_box_create(const struct mcp_tools_env *env, const struct jv *args, struct json *req, char *msg, size_t size)
{
        (void)env;
        static const char *const known[] = { "name", "profile", "timeout" };
        bool bad = false;
        if (!args_known(args, known, ARRAY_SIZE(known), msg, size))
                return false;
        const struct jv *name = arg(args, "name", JV_STRING, true, msg, size, &bad);
        if (bad)
                return false;
        json_begin_object(req);
        json_str(req, "op", "box.create");
        json_str(req, "box", name->str.s);
        if (!args_common(args, req, msg, size))
                return false;
        json_end_object(req);
        return true;
}

static bool request_box_run(const struct mcp_tools_env *env, const struct jv *args, struct json *req, char *msg, size_t size)
{
        static const char *const known[] = { "name", "language", "code", "command", "stdin", "timeout" };
        bool bad = false;
        if (!args_known(args, known, ARRAY_SIZE(known), msg, size))
                return false;
        const struct jv *name = arg(args, "name", JV_STRING, true, msg, size, &bad);
        const struct jv *lang = arg(args, "language", JV_STRING, false, msg, size, &bad);
        const struct jv *code = arg(args, "code", JV_STRING, false, msg, size, &bad);
        const struct jv *cmd = arg(args, "command", JV_ARRAY, false, msg, size, &bad);
        if (bad)
                return false;
        if (!!cmd == !!(lang || code) || (!cmd && (!lang || !code))) {
                snprintf(msg, size, "give \"language\" and \"code\", or \"command\"");
                return false;
        }
        if (lang && !lang_find(lang->str.s)) {
                char esc[64];
                snprintf(msg, size, "\"language\": \"%s\" is not one of %s", log_escape(lang->str.s, esc, sizeof esc),
                         env->langs);
                return false;
        }
        json_begin_object(req);
        json_str(req, "op", "box.run");
        json_str(req, "box", name->str.s);
        if (lang) {
                json_str(req, "lang", lang->str.s);
                json_strn(req, "code", code->str.s, code->str.len);
        } else {
                if (cmd->arr.n == 0) {
                        snprintf(msg, size, "\"command\" is empty: give the program and its arguments");
                        return false;
                }
                json_begin_array(req, "command");
                for (size_t i = 0; i < cmd->arr.n; i++) {
                        if (cmd->arr.items[i]->type != JV_STRING) {
                                snprintf(msg, size, "\"command[%zu]\": expected a string", i);
                                return false;
                        }
                        json_strn(req, NULL, cmd->arr.items[i]->str.s, cmd->arr.items[i]->str.len);
                }
                json_end_array(req);
        }
        if (!args_common(args, req, msg, size))
                return false;
        json_end_object(req);
        return true;
}

struct mcp_tool {
        const char *name, *title, *description;
        bool read_only, destructive; /* the hints clients show before a call */
        bool runs;                   /* its result is a run's: summarized, with the output schema */
        void (*input_schema)(const struct mcp_tools_env *env, struct json *j);
        /* The request of a `moat serve` operation for these arguments, or
         * false with a message for the model. */
        bool (*request)(const struct mcp_tools_env *env, const struct jv *args, struct json *req, char *msg, size_t size);
};

static const struct mcp_tool tools[] = {
        { "run_code", "Run code in a sandbox",
          "Runs a snippet of code in a fresh moat sandbox and returns its exit status, stdout and stderr. "
          "The sandbox has no network, no access to the host's files or processes, an empty home and /tmp, "
          "and hard limits (the safe profile by default: 256 MiB of memory, 30 s, 64 processes). Nothing "
          "persists between calls (use a box for that).",
          true, false, true, schema_run_code, request_run_code },
        { "run_command", "Run a command in a sandbox",
          "Runs a program of the system (from /usr, without a shell unless you call one) in a fresh moat "
          "sandbox and returns its exit status, stdout and stderr. No network, no access to the host's files, "
          "hard limits (the safe profile by default). Nothing persists between calls (use a box for that).",
          true, false, true, schema_run_command, request_run_command },
        { "box_create", "Create a box",
          "Creates a box: a sandbox whose working directory and home persist between runs (files written, "
          "packages installed with --user). Its limits are set now (profile, timeout).",
          false, false, false, schema_box_create, request_box_create },
        { "box_run", "Run in a box",
          "Runs code (language and code) or a command in a box: a fresh sandbox over the box's workspace (the "
          "working directory) and home, which keep what earlier runs wrote. One run at a time per box.",
          false, false, true, schema_box_run, request_box_run },
        { "box_list", "List boxes", "Lists the boxes with their settings and how many runs each had.",
          true, false, false, schema_nothing, request_box_list },
        { "box_history", "A box's history", "Lists a box's runs, oldest first: what ran and how it ended.",
          true, false, false, schema_only_name, request_box_history },
        { "box_reset", "Empty a box", "Empties a box's workspace and home; keeps its settings and history.",
          false, true, false, schema_only_name, request_box_reset },
        { "box_remove", "Remove a box", "Removes a box and everything in it.",
          false, true, false, schema_only_name, request_box_remove },
};

const struct mcp_tool *mcp_tool_find(const char *name)
{
        for (size_t i = 0; i < ARRAY_SIZE(tools); i++)
                if (strcmp(tools[i].name, name) == 0)
                        return &tools[i];
        return NULL;
}

void mcp_tools_list(const struct mcp_tools_env *env, struct json *j)
{
        json_begin_array(j, "tools");
        for (size_t i = 0; i < ARRAY_SIZE(tools); i++) {
                const struct mcp_tool *t = &tools[i];
                json_begin_object(j);
                json_str(j, "name", t->name);
                if (env->structured)
                        json_str(j, "title", t->title);
                json_str(j, "description", t->description);
                json_key_object(j, "inputSchema");
                t->input_schema(env, j);
                json_end_object(j);
                if (env->structured && t->runs)
                        schema_result(j);
                json_key_object(j, "annotations");
                json_str(j, "title", t->title);
                json_bool(j, "readOnlyHint", t->read_only);
                json_bool(j, "destructiveHint", t->destructive);
                json_bool(j, "idempotentHint", false);
                json_bool(j, "openWorldHint", false);
                json_end_object(j);
                json_end_object(j);
        }
        json_end_array(j);
}

bool mcp_tool_request(const struct mcp_tool *t, const struct mcp_tools_env *env, const struct jv *args,
                      struct json *req, char *msg, size_t size)
{
        return t->request(env, args, req, msg, size);
}

/* ---- results ---- */

struct buf {
        char *s;
        size_t len, cap;
        bool oom;
};

static void buf_add(struct buf *b, const char *s, size_t n)
{
        if (b->oom)
                return;
        if (b->len + n + 1 > b->cap) {
                size_t cap = b->cap ? b->cap : 1024;
                while (cap < b->len + n + 1)
                        cap *= 2;
                char *p = realloc(b->s, cap);
                if (!p) {
                        b->oom = true;
                        return;
                }
                b->s = p;
                b->cap = cap;
        }
        memcpy(b->s + b->len, s, n);
        b->len += n;
        b->s[b->len] = '\0';
}

static void buf_printf(struct buf *b, const char *fmt, ...) _printf_(2, 3);
static void buf_printf(struct buf *b, const char *fmt, ...)
{
        char tmp[1200];
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
        va_end(ap);
        if (n > 0)
                buf_add(b, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

/* The result object for reading: jv refuses \u0000, which a program's
 * output may hold, so a copy has each escaped NUL turned into U+FFFD (an
 * escape of the same length). The raw text stays what the client gets. */
static struct jv *parse_result(const char *body)
{
        size_t n = strlen(body);
        _cleanup_free_ char *copy = malloc(n + 1);
        if (!copy)
                return NULL;
        memcpy(copy, body, n + 1);
        for (char *p = copy; (p = strstr(p, "\\u0000")); p += 6) {
                size_t slashes = 0;
                for (char *q = p; q > copy && q[-1] == '\\'; q--)
                        slashes++;
                if (slashes % 2 == 0)
                        memcpy(p, "\\ufffd", 6);
        }
        return jv_parse(copy, n, NULL);
}

static long long get_int(const struct jv *v, const char *key, long long dflt)
{
        const struct jv *x = jv_get(v, key);
        return x && x->type == JV_NUMBER && x->num.is_int ? x->num.i : dflt;
}

static bool get_bool(const struct jv *v, const char *key)
{
        const struct jv *x = jv_get(v, key);
        return x && x->type == JV_BOOL && x->b;
}

static const struct jv *get_str(const struct jv *v, const char *key)
{
        const struct jv *x = jv_get(v, key);
        return x && x->type == JV_STRING ? x : NULL;
}

/* What the model reads: one line on how it ended, then the output. */
static void summarize(const struct jv *v, struct buf *b)
{
        long long status = get_int(v, "status", 125), code = get_int(v, "exit_code", -1),
                  sig = get_int(v, "signal", -1);
        const struct jv *err = get_str(v, "error"), *out = get_str(v, "stdout"), *errout = get_str(v, "stderr");
        const struct jv *dur = jv_get(v, "duration_ms");
        if (get_bool(v, "timed_out"))
                buf_printf(b, "timed out after %lld s (status 124)", get_int(jv_get(v, "limits"), "timeout_s", 0));
        else if (get_bool(v, "oom_killed"))
                buf_printf(b, "killed: out of memory (status 137)");
        else if (code >= 0)
                buf_printf(b, "exit code %lld", code);
        else if (sig > 0)
                buf_printf(b, "killed by signal %lld (status %lld)", sig, status);
        else if (err)
                buf_printf(b, "moat could not run it (status %lld)", status);
        else
                buf_printf(b, "status %lld", status);
        if (dur && dur->type == JV_NUMBER)
                buf_printf(b, " in %.0f ms", dur->num.d);
        buf_add(b, "\n", 1);
        if (err)
                buf_printf(b, "moat: %s\n", err->str.s);
        if (out && out->str.len) {
                buf_add(b, "--- stdout ---\n", 15);
                buf_add(b, out->str.s, out->str.len);
                if (out->str.s[out->str.len - 1] != '\n')
                        buf_add(b, "\n", 1);
        }
        if (errout && errout->str.len) {
                buf_add(b, "--- stderr ---\n", 15);
                buf_add(b, errout->str.s, errout->str.len);
                if (errout->str.s[errout->str.len - 1] != '\n')
                        buf_add(b, "\n", 1);
        }
        if ((!out || !out->str.len) && (!errout || !errout->str.len) && !err)
                buf_add(b, "(no output)\n", 12);
}

char *mcp_tool_text(const struct mcp_tool *t, const char *body, bool *failed)
{
        _cleanup_jv_free_ struct jv *v = parse_result(body);
        struct buf b = { 0 };
        const struct jv *err = v ? get_str(v, "error") : NULL;
        if (t->runs) {
                if (v)
                        summarize(v, &b);
                else
                        buf_printf(&b, "moat: the run's result could not be read");
                *failed = !v || get_int(v, "status", 125) != 0;
        } else {
                /* A box operation: its answer as it is, or its error. */
                *failed = !v || err;
                if (err)
                        buf_printf(&b, "moat: %s", err->str.s);
                else
                        buf_add(&b, body, strlen(body));
        }
        if (b.oom || !b.s) {
                free(b.s);
                return NULL;
        }
        return b.s;
}
