/* SPDX-License-Identifier: MIT */
#include "server/mcp.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "config.h"
#include "runner/api.h"
#include "runner/runner.h"
#include "server/job.h"
#include "server/mcp_tools.h"
#include "server/ops.h"
#include "util/json.h"
#include "util/json_read.h"
#include "util/log.h"
#include "util/strv.h"

#define MCP_MAX_LINE (8u << 20)
#define MCP_MAX_WAITING 256
#define KILL_AFTER_S 2.0

/* JSON-RPC 2.0 error codes. */
enum {
        RPC_PARSE_ERROR = -32700,
        RPC_INVALID_REQUEST = -32600,
        RPC_METHOD_NOT_FOUND = -32601,
        RPC_INVALID_PARAMS = -32602,
        RPC_INTERNAL_ERROR = -32603,
};

/* Newest first: the answer when the client asks for one we do not know. */
static const char *const protocol_versions[] = { "2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05" };

struct rpc_id {
        enum { ID_NONE, ID_STR, ID_INT } kind;
        char *s;
        long long i;
};

struct call {
        struct rpc_id id;
        struct jv *request; /* the request of a `moat serve` operation */
        const struct mcp_tool *tool;
        const struct op_context *ctx;
        struct job job;
        bool started, cancelled;
        struct call *next;
};

struct mcp {
        const struct mcp_config *cfg;
        struct op_context ctx;
        struct job_env env;
        char version[16];  /* negotiated; "" before initialize */
        char *in;
        size_t in_len, in_cap;
        bool discarding;   /* the rest of an oversized line */
        bool in_eof;
        bool out_broken;   /* stdout is gone: nobody to answer */
        bool stopping;
        struct call *calls; /* in arrival order */
        unsigned running, waiting;
        char langs[128];   /* installed languages, for the schema and messages */
};

/* ---- output ---- */

static void write_all(struct mcp *m, const char *p, size_t n)
{
        for (size_t off = 0; off < n && !m->out_broken;) {
                ssize_t w = write(STDOUT_FILENO, p + off, n - off);
                if (w < 0 && errno == EINTR)
                        continue;
                if (w <= 0)
                        m->out_broken = true; /* the client is gone */
                else
                        off += (size_t)w;
        }
}

/* One message, one line: the writer escapes every newline inside. */
static void write_line(struct mcp *m, const char *t)
{
        write_all(m, t, strlen(t));
        write_all(m, "\n", 1);
}

static void put_id(struct json *j, const struct rpc_id *id)
{
        if (id->kind == ID_STR)
                json_str(j, "id", id->s);
        else if (id->kind == ID_INT)
                json_int(j, "id", id->i);
        else
                json_null(j, "id");
}

static void begin_result(struct json *j, const struct rpc_id *id)
{
        json_begin_object(j);
        json_str(j, "jsonrpc", "2.0");
        put_id(j, id);
        json_key_object(j, "result");
}

static void send_json(struct mcp *m, struct json *j)
{
        const char *t = json_text(j);
        write_line(m, t ? t : "{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":-32603,\"message\":\"out of memory\"}}");
        json_free(j);
}

static void send_error(struct mcp *m, const struct rpc_id *id, int code, const char *fmt, ...) _printf_(4, 5);
static void send_error(struct mcp *m, const struct rpc_id *id, int code, const char *fmt, ...)
{
        char msg[1024];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof msg, fmt, ap);
        va_end(ap);
        struct json j = { 0 };
        json_begin_object(&j);
        json_str(&j, "jsonrpc", "2.0");
        put_id(&j, id);
        json_key_object(&j, "error");
        json_int(&j, "code", code);
        json_str(&j, "message", msg);
        json_end_object(&j);
        json_end_object(&j);
        send_json(m, &j);
}

/* structuredContent, outputSchema and titles came with 2025-06-18. */
static bool new_protocol(const struct mcp *m)
{
        return strcmp(m->version, "2025-06-18") >= 0;
}

static struct mcp_tools_env tools_env(const struct mcp *m)
{
        return (struct mcp_tools_env){ .langs = m->langs, .structured = new_protocol(m) };
}

static void tools_list(struct mcp *m, const struct rpc_id *id)
{
        struct mcp_tools_env env = tools_env(m);
        struct json j = { 0 };
        begin_result(&j, id);
        mcp_tools_list(&env, &j);
        json_end_object(&j);
        json_end_object(&j);
        send_json(m, &j);
}

static void send_tool_result(struct mcp *m, const struct rpc_id *id, const char *text, const char *structured,
                             bool is_error)
{
        struct json j = { 0 };
        begin_result(&j, id);
        json_begin_array(&j, "content");
        json_begin_object(&j);
        json_str(&j, "type", "text");
        json_str(&j, "text", text);
        json_end_object(&j);
        json_end_array(&j);
        if (structured && new_protocol(m))
                json_raw(&j, "structuredContent", structured, strlen(structured));
        json_bool(&j, "isError", is_error);
        json_end_object(&j);
        json_end_object(&j);
        send_json(m, &j);
}

/* A call's arguments did not fit: the model reads why. */
static void send_tool_error(struct mcp *m, const struct rpc_id *id, const char *msg)
{
        struct json s = { 0 };
        json_begin_object(&s);
        json_int(&s, "status", 125);
        json_str(&s, "error", msg);
        json_end_object(&s);
        char text[1200];
        snprintf(text, sizeof text, "invalid arguments: %s", msg);
        send_tool_result(m, id, text, json_text(&s), true);
        json_free(&s);
}

static void call_done(struct mcp *m, struct call *c)
{
        char reason[128];
        const char *body = job_response(&c->job, reason, sizeof reason);
        struct json fallback = { 0 };
        if (!body) {
                json_begin_object(&fallback);
                json_int(&fallback, "status", 125);
                char msg[200];
                snprintf(msg, sizeof msg, "the run ended without a result: %s", reason);
                json_str(&fallback, "error", msg);
                json_end_object(&fallback);
                body = json_text(&fallback);
        }
        if (!c->cancelled && body) {
                bool failed = true;
                _cleanup_free_ char *text = mcp_tool_text(c->tool, body, &failed);
                send_tool_result(m, &c->id, text ? text : "out of memory", body, failed);
        }
        json_free(&fallback);
}

/* ---- calls ---- */

static void call_free(struct call *c)
{
        job_free(&c->job);
        jv_free(c->request);
        free(c->id.s);
        free(c);
}

static void call_unlink(struct mcp *m, struct call *c)
{
        for (struct call **p = &m->calls; *p; p = &(*p)->next)
                if (*p == c) {
                        *p = c->next;
                        return;
                }
}

/* In the job's child: the operation, as `moat serve` runs it. */
static void run_call(void *arg, struct json *j)
{
        struct call *c = arg;
        struct op_request r;
        struct json err = { 0 };
        if (op_request_split(c->request, &r, &err) < 0) {
                const char *t = json_text(&err);
                json_raw(j, NULL, t ? t : "{}", strlen(t ? t : "{}"));
        } else
                r.op->handle(r.op->name, &r.view, c->ctx, j);
        json_free(&err);
        op_request_done(&r);
}

static void start_waiting(struct mcp *m)
{
        for (struct call *c = m->calls, *next; c && m->running < m->cfg->workers; c = next) {
                next = c->next;
                if (c->started)
                        continue;
                m->waiting--;
                int r = job_start(&c->job, &m->env, run_call, c);
                if (r < 0) {
                        char msg[160];
                        snprintf(msg, sizeof msg, "could not start the run: %s", strerror(-r));
                        send_tool_error(m, &c->id, msg);
                        call_unlink(m, c);
                        call_free(c);
                        continue;
                }
                c->started = true;
                m->running++;
        }
}

static void tools_call(struct mcp *m, const struct rpc_id *id, const struct jv *params)
{
        if (!params || params->type != JV_OBJECT) {
                send_error(m, id, RPC_INVALID_PARAMS, "tools/call: \"params\" must be an object with the tool's "
                           "\"name\" and \"arguments\"");
                return;
        }
        const struct jv *name = jv_get(params, "name");
        const struct jv *args = jv_get(params, "arguments");
        if (!name || name->type != JV_STRING) {
                send_error(m, id, RPC_INVALID_PARAMS, "tools/call: \"name\" must be a string");
                return;
        }
        const struct mcp_tool *t = mcp_tool_find(name->str.s);
        if (!t) {
                char esc[128];
                send_error(m, id, RPC_INVALID_PARAMS, "Unknown tool: %s (tools/list has them)",
                           log_escape(name->str.s, esc, sizeof esc));
                return;
        }
        if (args && args->type != JV_OBJECT && args->type != JV_NULL) {
                send_error(m, id, RPC_INVALID_PARAMS, "tools/call: \"arguments\" must be an object");
                return;
        }
        static const struct jv empty = { .type = JV_OBJECT };
        if (!args || args->type == JV_NULL)
                args = &empty;
        char msg[1024] = "";
        struct json req = { 0 };
        struct mcp_tools_env env = tools_env(m);
        if (!mcp_tool_request(t, &env, args, &req, msg, sizeof msg)) {
                json_free(&req);
                send_tool_error(m, id, msg);
                return;
        }
        const char *text = json_text(&req);
        struct jv_error je;
        struct jv *tree = text ? jv_parse(text, strlen(text), &je) : NULL;
        json_free(&req);
        if (!tree) {
                send_error(m, id, RPC_INTERNAL_ERROR, "building the run's request failed");
                return;
        }
        if (m->stopping) {
                jv_free(tree);
                send_tool_error(m, id, "the server is stopping");
                return;
        }
        if (m->waiting >= MCP_MAX_WAITING) {
                jv_free(tree);
                send_tool_error(m, id, "busy: too many calls are waiting; try again later");
                return;
        }
        struct call *c = calloc(1, sizeof *c);
        if (!c || (id->kind == ID_STR && !(c->id.s = strdup(id->s)))) {
                free(c);
                jv_free(tree);
                send_error(m, id, RPC_INTERNAL_ERROR, "out of memory");
                return;
        }
        c->id.kind = id->kind;
        c->id.i = id->i;
        c->request = tree;
        c->tool = t;
        c->ctx = &m->ctx;
        c->job.fd = -1;
        struct call **p = &m->calls;
        while (*p)
                p = &(*p)->next;
        *p = c;
        m->waiting++;
        start_waiting(m);
}

static bool same_id(const struct rpc_id *a, const struct jv *b)
{
        if (a->kind == ID_STR)
                return b->type == JV_STRING && strcmp(a->s, b->str.s) == 0;
        return a->kind == ID_INT && b->type == JV_NUMBER && b->num.is_int && b->num.i == a->i;
}

/* notifications/cancelled: the call's result is no longer wanted. */
static void cancel(struct mcp *m, const struct jv *params)
{
        const struct jv *rid = jv_get(params, "requestId");
        if (!rid)
                return;
        for (struct call *c = m->calls; c; c = c->next) {
                if (!same_id(&c->id, rid) || c->cancelled)
                        continue;
                c->cancelled = true;
                if (c->started)
                        job_stop(&c->job, job_now());
                else {
                        m->waiting--;
                        call_unlink(m, c);
                        call_free(c);
                }
                return;
        }
}

static void initialize(struct mcp *m, const struct rpc_id *id, const struct jv *params)
{
        const struct jv *want = jv_get(params, "protocolVersion");
        if (!want || want->type != JV_STRING) {
                send_error(m, id, RPC_INVALID_PARAMS, "initialize: \"protocolVersion\" must be a string");
                return;
        }
        const char *v = protocol_versions[0];
        for (size_t i = 0; i < ARRAY_SIZE(protocol_versions); i++)
                if (strcmp(want->str.s, protocol_versions[i]) == 0)
                        v = protocol_versions[i];
        snprintf(m->version, sizeof m->version, "%s", v);
        struct json j = { 0 };
        begin_result(&j, id);
        json_str(&j, "protocolVersion", v);
        json_key_object(&j, "capabilities");
        json_key_object(&j, "tools");
        json_bool(&j, "listChanged", false);
        json_end_object(&j);
        json_end_object(&j);
        json_key_object(&j, "serverInfo");
        json_str(&j, "name", "moat");
        if (new_protocol(m))
                json_str(&j, "title", "moat sandbox");
        json_str(&j, "version", MOAT_VERSION);
        json_end_object(&j);
        json_str(&j, "instructions",
                 "moat runs code and commands in a fresh sandbox on each call: no network, no access to the "
                 "host's files, processes or secrets, hard limits on memory, time and processes. Use run_code "
                 "for a snippet (python, bash, sh, node where installed) and run_command for a program of the "
                 "system; files written in one call are gone in the next. For work that builds on earlier runs "
                 "(installed packages, files), create a box (box_create) and run in it with box_run.");
        json_end_object(&j);
        json_end_object(&j);
        send_json(m, &j);
}

/* ---- messages ---- */

static void handle_message(struct mcp *m, const char *line, size_t len)
{
        struct rpc_id none = { .kind = ID_NONE };
        struct jv_error je;
        _cleanup_jv_free_ struct jv *v = jv_parse(line, len, &je);
        if (!v) {
                send_error(m, &none, RPC_PARSE_ERROR, "Parse error: %u:%u: %s", je.line, je.col, je.msg);
                return;
        }
        if (v->type == JV_ARRAY) {
                send_error(m, &none, RPC_INVALID_REQUEST, "Invalid Request: batches are not supported");
                return;
        }
        if (v->type != JV_OBJECT) {
                send_error(m, &none, RPC_INVALID_REQUEST, "Invalid Request: a message is a JSON object");
                return;
        }
        const struct jv *jid = jv_get(v, "id"), *method = jv_get(v, "method"), *rpc = jv_get(v, "jsonrpc");
        const struct jv *params = jv_get(v, "params");
        struct rpc_id id = { .kind = ID_NONE };
        if (jid && jid->type == JV_STRING) {
                id.kind = ID_STR;
                id.s = jid->str.s;
        } else if (jid && jid->type == JV_NUMBER && jid->num.is_int) {
                id.kind = ID_INT;
                id.i = jid->num.i;
        } else if (jid) {
                send_error(m, &none, RPC_INVALID_REQUEST, "Invalid Request: \"id\" must be a string or an integer");
                return;
        }
        if (!method && (jv_get(v, "result") || jv_get(v, "error")))
                return; /* a response to a request of ours: we send none */
        if (!rpc || rpc->type != JV_STRING || strcmp(rpc->str.s, "2.0") != 0) {
                send_error(m, &id, RPC_INVALID_REQUEST, "Invalid Request: \"jsonrpc\" must be \"2.0\"");
                return;
        }
        if (!method || method->type != JV_STRING) {
                send_error(m, &id, RPC_INVALID_REQUEST, "Invalid Request: \"method\" must be a string");
                return;
        }
        if (params && params->type != JV_OBJECT && params->type != JV_ARRAY) {
                send_error(m, &id, RPC_INVALID_PARAMS, "Invalid params: \"params\" must be an object");
                return;
        }
        const char *name = method->str.s;
        if (id.kind == ID_NONE) {
                /* A notification: never answered, known or not. */
                if (strcmp(name, "notifications/cancelled") == 0 && params)
                        cancel(m, params);
                return;
        }
        if (strcmp(name, "initialize") == 0)
                initialize(m, &id, params);
        else if (strcmp(name, "ping") == 0) {
                struct json j = { 0 };
                begin_result(&j, &id);
                json_end_object(&j);
                json_end_object(&j);
                send_json(m, &j);
        } else if (strcmp(name, "tools/list") == 0)
                tools_list(m, &id);
        else if (strcmp(name, "tools/call") == 0)
                tools_call(m, &id, params);
        else {
                char esc[128];
                send_error(m, &id, RPC_METHOD_NOT_FOUND, "Method not found: %s",
                           log_escape(name, esc, sizeof esc));
        }
}

/* Takes what stdin has and handles every complete line. */
static void read_input(struct mcp *m)
{
        if (m->in_cap - m->in_len < 65536) {
                size_t cap = m->in_cap ? m->in_cap * 2 : 131072;
                if (cap > MCP_MAX_LINE + 131072)
                        cap = MCP_MAX_LINE + 131072;
                char *b = cap > m->in_cap ? realloc(m->in, cap) : m->in;
                if (!b) {
                        log_error("mcp: out of memory");
                        m->in_eof = true;
                        return;
                }
                m->in = b;
                m->in_cap = cap;
        }
        ssize_t n = read(STDIN_FILENO, m->in + m->in_len, m->in_cap - m->in_len);
        if (n < 0 && (errno == EINTR || errno == EAGAIN))
                return;
        if (n <= 0) {
                m->in_eof = true;
                n = 0;
        }
        size_t scan = m->in_len;
        m->in_len += (size_t)n;
        size_t start = 0;
        for (;;) {
                char *nl = memchr(m->in + scan, '\n', m->in_len - scan);
                if (!nl)
                        break;
                size_t end = (size_t)(nl - m->in);
                if (m->discarding)
                        m->discarding = false;
                else if (end - start > MCP_MAX_LINE) {
                        struct rpc_id none = { .kind = ID_NONE };
                        send_error(m, &none, RPC_INVALID_REQUEST, "Invalid Request: the message is larger than %u MiB",
                                   MCP_MAX_LINE >> 20);
                } else {
                        size_t l = end - start;
                        if (l && m->in[start + l - 1] == '\r')
                                l--;
                        bool blank = true;
                        for (size_t i = 0; i < l && blank; i++)
                                blank = m->in[start + i] == ' ' || m->in[start + i] == '\t';
                        if (!blank)
                                handle_message(m, m->in + start, l);
                }
                start = scan = end + 1;
        }
        memmove(m->in, m->in + start, m->in_len - start);
        m->in_len -= start;
        if (m->in_len > MCP_MAX_LINE) {
                if (!m->discarding) {
                        struct rpc_id none = { .kind = ID_NONE };
                        send_error(m, &none, RPC_INVALID_REQUEST, "Invalid Request: the message is larger than %u MiB",
                                   MCP_MAX_LINE >> 20);
                }
                m->discarding = true;
                m->in_len = 0;
        }
        if (m->in_eof && m->in_len && !m->discarding)
                handle_message(m, m->in, m->in_len);
        if (m->in_eof)
                m->in_len = 0;
}

static void reap(struct mcp *m)
{
        for (;;) {
                int st;
                pid_t pid = waitpid(-1, &st, WNOHANG);
                if (pid <= 0)
                        return;
                for (struct call *c = m->calls; c; c = c->next)
                        if (c->started && job_reaped(&c->job, pid, st)) {
                                m->running--;
                                call_done(m, c);
                                call_unlink(m, c);
                                call_free(c);
                                break;
                        }
        }
}

static void stop_all(struct mcp *m)
{
        m->stopping = true;
        for (struct call *c = m->calls, *next; c; c = next) {
                next = c->next;
                if (c->started)
                        job_stop(&c->job, job_now());
                else {
                        m->waiting--;
                        call_unlink(m, c);
                        call_free(c);
                }
        }
}

int mcp_run(const struct mcp_config *cfg)
{
        struct mcp m = { .cfg = cfg };
        m.ctx.api.policy_file = cfg->policy_file;
        _cleanup_free_ char *scratch = NULL;
        size_t n;
        const struct lang *langs = lang_all(&n);
        for (size_t i = 0, len = 0; i < n; i++) {
                char path[128];
                if (lang_path(&langs[i], path, sizeof path) && len < sizeof m.langs)
                        len += (size_t)snprintf(m.langs + len, sizeof m.langs - len, "%s%s", len ? ", " : "",
                                                langs[i].name);
        }
        if (!m.langs[0])
                snprintf(m.langs, sizeof m.langs, "%s (none is installed here)", lang_names());

        sigset_t mask;
        sigemptyset(&mask);
        sigaddset(&mask, SIGCHLD);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGHUP);
        sigaddset(&mask, SIGPIPE); /* a closed stdout is an EPIPE, not a death */
        sigprocmask(SIG_BLOCK, &mask, &m.env.mask);
        sigdelset(&mask, SIGPIPE);
        int sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
        int r = job_scratch_create(&scratch);
        if (sfd < 0 || r < 0) {
                log_error("mcp: %s", sfd < 0 ? strerror(errno) : strerror(-r));
                if (sfd >= 0)
                        close(sfd);
                sigprocmask(SIG_SETMASK, &m.env.mask, NULL);
                return 125;
        }
        m.env.scratch = scratch;

        for (;;) {
                if (m.out_broken && !m.stopping)
                        stop_all(&m);
                if ((m.in_eof || m.stopping) && !m.calls)
                        break;
                struct pollfd pf[2 + 64];
                struct call *polled[64];
                size_t np = 0, nc = 0;
                pf[np++] = (struct pollfd){ .fd = sfd, .events = POLLIN };
                pf[np++] = (struct pollfd){ .fd = m.in_eof || m.stopping ? -1 : STDIN_FILENO, .events = POLLIN };
                double now = job_now(), next = -1;
                for (struct call *c = m.calls; c; c = c->next) {
                        if (!c->started)
                                continue;
                        if (c->job.term_at > 0 && !c->job.killed) {
                                if (now >= c->job.term_at + KILL_AFTER_S)
                                        job_kill(&c->job);
                                else if (next < 0 || c->job.term_at + KILL_AFTER_S < next)
                                        next = c->job.term_at + KILL_AFTER_S;
                        }
                        if (c->job.fd >= 0 && nc < ARRAY_SIZE(polled)) {
                                polled[nc++] = c;
                                pf[np++] = (struct pollfd){ .fd = c->job.fd, .events = POLLIN };
                        }
                }
                int timeout = next < 0 ? -1 : (int)((next - now) * 1000) + 1;
                if (poll(pf, np, timeout) < 0) {
                        if (errno == EINTR)
                                continue;
                        log_error("mcp: poll: %s", strerror(errno));
                        stop_all(&m);
                        continue;
                }
                for (size_t i = 0; i < nc; i++)
                        if (pf[2 + i].revents && job_read(&polled[i]->job) != 0) {
                                close(polled[i]->job.fd);
                                polled[i]->job.fd = -1;
                        }
                if (pf[1].revents)
                        read_input(&m);
                if (pf[0].revents) {
                        struct signalfd_siginfo si;
                        while (read(sfd, &si, sizeof si) == sizeof si)
                                if (si.ssi_signo != SIGCHLD && !m.stopping)
                                        stop_all(&m);
                }
                reap(&m);
                start_waiting(&m);
        }
        close(sfd);
        free(m.in);
        job_scratch_remove(scratch);
        sigprocmask(SIG_SETMASK, &m.env.mask, NULL);
        return 0;
}
