/* SPDX-License-Identifier: MIT */
#include "server/serve.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "runner/info.h"
#include "server/job.h"
#include "server/ops.h"
#include "util/json_read.h"
#include "util/log.h"

/* After SIGTERM, a run's supervisor has this long to take the sandbox
 * down and report before the group gets SIGKILL. */
#define KILL_AFTER_S 2.0
/* After the last run, for clients to read their last responses. */
#define FLUSH_AFTER_S 3.0

enum watch_kind { W_LISTEN, W_SIGNAL, W_CONN, W_RUN };
struct watch {
        enum watch_kind kind;
        bool dead; /* closed in this batch of events; freed after it */
};

struct request {
        struct jv *tree;
        struct op_request op;
};

struct run;

struct conn {
        struct watch w; /* first: epoll's pointer */
        int fd;
        char *in;
        size_t in_len, in_cap, scanned; /* scanned: bytes of in known to hold no newline */
        char *out;
        size_t out_len, out_off, out_cap;
        struct request *req; /* in flight (queued or running); one at a time keeps responses in order */
        struct run *run;
        bool queued;
        bool eof;            /* the client shut down its side: answer what it sent, then close */
        bool close_after;    /* close once out is written */
        uint32_t events;     /* registered with epoll */
        struct conn *prev, *next;
        struct conn *qnext;
        struct conn *gnext;  /* dead, waiting to be freed */
};

struct run {
        struct watch w;
        struct job job;
        struct conn *conn; /* NULL once the client left */
        struct request *req;
        const struct op_context *ctx;
        struct run *next;
        struct run *gnext;
};

struct server {
        const struct serve_config *cfg;
        int ep, lfd, sfd;
        struct watch lw, sw;
        bool accept_paused;
        struct conn *conns;
        unsigned nconns;
        struct conn *qhead, *qtail;
        unsigned nqueued;
        struct run *runs;
        unsigned nrunning;
        /* Closed connections and finished runs, freed once the batch of
         * epoll events that may still name them is through. */
        struct conn *grave_conns;
        struct run *grave_runs;
        struct job_env env;
        struct op_context ctx;
        bool stopping, term_sent, kill_sent;
        double stop_at;
        dev_t sock_dev;
        ino_t sock_ino;
};

static void request_free(struct request *r)
{
        if (!r)
                return;
        op_request_done(&r->op);
        jv_free(r->tree);
        free(r);
}

/* ---- the socket ---- */

/* Binds a new socket at path, mode 0600 from the start (the umask, not a
 * chmod after the fact). bind(2) never follows a symlink at its last
 * component; what already exists there is looked at with lstat: a stale
 * socket of this user is replaced, a live one (a connect succeeds) is
 * refused, and anything else (a symlink, a file) is left alone. */
static int listen_on(const char *path, struct stat *ret_st)
{
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        char esc[256];
        log_escape(path, esc, sizeof esc);
        if (!path[0] || strlen(path) >= sizeof sa.sun_path) {
                log_error("serve: --socket %s: a socket path is 1 to %zu bytes", esc, sizeof sa.sun_path - 1);
                return -EINVAL;
        }
        memcpy(sa.sun_path, path, strlen(path) + 1);
        struct stat st;
        if (lstat(path, &st) == 0) {
                if (S_ISLNK(st.st_mode)) {
                        log_error("serve: %s is a symbolic link; refusing to follow or replace it (remove it, or "
                                  "choose another path)", esc);
                        return -ELOOP;
                }
                if (!S_ISSOCK(st.st_mode)) {
                        log_error("serve: %s exists and is not a socket; refusing to replace it", esc);
                        return -EEXIST;
                }
                if (st.st_uid != geteuid()) {
                        log_error("serve: %s is another user's socket; refusing to replace it", esc);
                        return -EPERM;
                }
                int t = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
                if (t < 0)
                        return negerrno();
                int r = connect(t, (struct sockaddr *)&sa, sizeof sa);
                int err = errno;
                close(t);
                if (r == 0 || err == EAGAIN || err == EINPROGRESS) {
                        log_error("serve: a server is already listening on %s; stop it first, or choose another "
                                  "path", esc);
                        return -EADDRINUSE;
                }
                if (err != ECONNREFUSED && err != ENOENT) {
                        log_error("serve: %s: cannot tell whether a server is listening there: %s", esc,
                                  strerror(err));
                        return -err;
                }
                struct stat again;
                if (lstat(path, &again) == 0 && again.st_dev == st.st_dev && again.st_ino == st.st_ino &&
                    unlink(path) < 0 && errno != ENOENT) {
                        log_error("serve: removing the stale socket %s: %s", esc, strerror(errno));
                        return negerrno();
                }
                log_info("replaced the stale socket %s", esc);
        } else if (errno != ENOENT) {
                log_error("serve: %s: %s", esc, strerror(errno));
                return negerrno();
        }
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return negerrno();
        mode_t old = umask(0177);
        int r = bind(fd, (struct sockaddr *)&sa, sizeof sa);
        int err = errno;
        umask(old);
        if (r < 0) {
                close(fd);
                if (err == EADDRINUSE)
                        log_error("serve: %s appeared while starting (another server?); refusing to replace it", esc);
                else
                        log_error("serve: binding %s: %s", esc, strerror(err));
                return -err;
        }
        if (lstat(path, ret_st) < 0 || !S_ISSOCK(ret_st->st_mode) || listen(fd, 128) < 0) {
                err = errno ? errno : EIO;
                log_error("serve: listening on %s: %s", esc, strerror(err));
                close(fd);
                return -err;
        }
        return fd;
}

/* Only if it is still the socket this server made. */
static void remove_socket(struct server *s)
{
        struct stat st;
        if (s->cfg->socket_path && lstat(s->cfg->socket_path, &st) == 0 && st.st_dev == s->sock_dev &&
            st.st_ino == s->sock_ino)
                (void)unlink(s->cfg->socket_path);
}

/* ---- connections ---- */

static void conn_watch(struct server *s, struct conn *c, uint32_t events)
{
        if (events == c->events)
                return;
        struct epoll_event ev = { .events = events, .data.ptr = c };
        if (epoll_ctl(s->ep, EPOLL_CTL_MOD, c->fd, &ev) == 0)
                c->events = events;
}

static void queue_remove(struct server *s, struct conn *c)
{
        if (!c->queued)
                return;
        for (struct conn **p = &s->qhead; *p; p = &(*p)->qnext)
                if (*p == c) {
                        *p = c->qnext;
                        break;
                }
        s->qtail = NULL;
        for (struct conn *q = s->qhead; q; q = q->qnext)
                s->qtail = q;
        c->qnext = NULL;
        c->queued = false;
        s->nqueued--;
}

static void conn_close(struct server *s, struct conn *c)
{
        if (c->run) {
                /* Nobody is left to read its answer. */
                c->run->conn = NULL;
                job_stop(&c->run->job, job_now());
                c->run = NULL;
                c->req = NULL; /* the run owns it */
        }
        queue_remove(s, c);
        request_free(c->req);
        epoll_ctl(s->ep, EPOLL_CTL_DEL, c->fd, NULL);
        close(c->fd);
        if (c->prev)
                c->prev->next = c->next;
        else
                s->conns = c->next;
        if (c->next)
                c->next->prev = c->prev;
        s->nconns--;
        free(TAKE_PTR(c->in));
        free(TAKE_PTR(c->out));
        c->w.dead = true;
        c->gnext = s->grave_conns;
        s->grave_conns = c;
        if (s->accept_paused && !s->stopping) {
                struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &s->lw };
                if (epoll_ctl(s->ep, EPOLL_CTL_MOD, s->lfd, &ev) == 0)
                        s->accept_paused = false;
        }
}

static int conn_append(struct conn *c, const char *text, size_t n)
{
        if (c->out_off == c->out_len)
                c->out_off = c->out_len = 0;
        if (c->out_len + n > c->out_cap) {
                size_t cap = c->out_cap ? c->out_cap : 4096;
                while (cap < c->out_len + n)
                        cap *= 2;
                char *b = realloc(c->out, cap);
                if (!b)
                        return -ENOMEM;
                c->out = b;
                c->out_cap = cap;
        }
        memcpy(c->out + c->out_len, text, n);
        c->out_len += n;
        return 0;
}

/* One response line: body with the request's id. */
static void respond(struct conn *c, const struct jv *id, const char *body)
{
        struct json j = { 0 };
        const char *t = op_response_line(id, body, &j) == 0 ? json_text(&j) : NULL;
        if (!t)
                t = "{\"status\":125,\"error\":\"out of memory\",\"code\":\"internal\"}";
        if (conn_append(c, t, strlen(t)) < 0 || conn_append(c, "\n", 1) < 0)
                c->close_after = true;
        json_free(&j);
}

static void respond_error(struct conn *c, const struct jv *id, const char *code, const char *fmt, ...)
        _printf_(4, 5);
static void respond_error(struct conn *c, const struct jv *id, const char *code, const char *fmt, ...)
{
        char msg[1024];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof msg, fmt, ap);
        va_end(ap);
        struct json j = { 0 };
        op_error(&j, code, "%s", msg);
        const char *t = json_text(&j);
        respond(c, id, t ? t : "{\"status\":125,\"error\":\"out of memory\",\"code\":\"internal\"}");
        json_free(&j);
}

/* Returns -1 when the client is gone. */
static int conn_flush(struct conn *c)
{
        while (c->out_off < c->out_len) {
                ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL | MSG_DONTWAIT);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return errno == EAGAIN ? 0 : -1;
                c->out_off += (size_t)n;
        }
        c->out_off = c->out_len = 0;
        /* A large response's buffer is not kept for the next small one. */
        if (c->out_cap > (1u << 20)) {
                free(c->out);
                c->out = NULL;
                c->out_cap = 0;
        }
        return 0;
}

/* ---- runs ---- */

static void run_job(void *arg, struct json *j)
{
        struct run *r = arg;
        r->req->op.op->handle(r->req->op.op->name, &r->req->op.view, r->ctx, j);
}

static void run_start(struct server *s, struct conn *c)
{
        struct run *r = calloc(1, sizeof *r);
        if (!r) {
                respond_error(c, c->req->op.id, "internal", "out of memory");
                request_free(TAKE_PTR(c->req));
                return;
        }
        r->w.kind = W_RUN;
        r->conn = c;
        r->req = c->req;
        r->ctx = &s->ctx;
        int e = job_start(&r->job, &s->env, run_job, r);
        struct epoll_event ev = { .events = EPOLLIN, .data.ptr = r };
        if (e == 0 && epoll_ctl(s->ep, EPOLL_CTL_ADD, r->job.fd, &ev) < 0)
                e = negerrno();
        if (e < 0) {
                respond_error(c, c->req->op.id, "internal", "could not start the run: %s", strerror(-e));
                request_free(TAKE_PTR(c->req));
                job_free(&r->job);
                free(r);
                return;
        }
        r->next = s->runs;
        s->runs = r;
        s->nrunning++;
        c->run = r;
}

static void conn_progress(struct server *s, struct conn *c);

static void queue_pump(struct server *s)
{
        while (s->qhead && s->nrunning < s->cfg->workers) {
                struct conn *c = s->qhead;
                queue_remove(s, c);
                run_start(s, c);
                if (!c->req)
                        conn_progress(s, c); /* it could not start: send the error */
        }
}

static void handle_line(struct server *s, struct conn *c, const char *line, size_t len)
{
        struct jv_error je;
        struct request *req = calloc(1, sizeof *req);
        if (!req) {
                respond_error(c, NULL, "internal", "out of memory");
                return;
        }
        req->tree = jv_parse(line, len, &je);
        if (!req->tree) {
                respond_error(c, NULL, "bad_request", "request:%u:%u: %s", je.line, je.col, je.msg);
                request_free(req);
                return;
        }
        struct json err = { 0 };
        if (op_request_split(req->tree, &req->op, &err) < 0) {
                const char *t = json_text(&err);
                respond(c, NULL, t ? t : "{\"status\":125,\"error\":\"out of memory\",\"code\":\"internal\"}");
                json_free(&err);
                request_free(req);
                return;
        }
        json_free(&err);
        const struct serve_op *op = req->op.op;
        if (op->kind == OP_INLINE) {
                struct json j = { 0 };
                op->handle(op->name, &req->op.view, &s->ctx, &j);
                const char *t = json_text(&j);
                respond(c, req->op.id, t ? t : "{\"status\":125,\"error\":\"out of memory\",\"code\":\"internal\"}");
                json_free(&j);
                request_free(req);
                return;
        }
        if (s->stopping) {
                respond_error(c, req->op.id, "stopping", "stopping: the server is shutting down");
                request_free(req);
                return;
        }
        if (s->nrunning >= s->cfg->workers && s->nqueued >= s->cfg->queue) {
                respond_error(c, req->op.id, "busy",
                              "busy: %u runs in progress and %u waiting (--workers %u, --queue %u); try again later",
                              s->nrunning, s->nqueued, s->cfg->workers, s->cfg->queue);
                request_free(req);
                return;
        }
        c->req = req;
        c->queued = true;
        c->qnext = NULL;
        if (s->qtail)
                s->qtail->qnext = c;
        else
                s->qhead = c;
        s->qtail = c;
        s->nqueued++;
        queue_pump(s);
}

/* Reads what the socket has, into at most one line's worth. */
static void conn_read(struct conn *c)
{
        if (c->in_cap - c->in_len < 65536 && c->in_cap < SERVE_MAX_LINE + 65536) {
                size_t cap = c->in_cap ? c->in_cap * 2 : 65536;
                if (cap > SERVE_MAX_LINE + 65536)
                        cap = SERVE_MAX_LINE + 65536;
                char *b = realloc(c->in, cap);
                if (!b) {
                        respond_error(c, NULL, "internal", "out of memory");
                        c->close_after = true;
                        return;
                }
                c->in = b;
                c->in_cap = cap;
        }
        if (c->in_len == c->in_cap)
                return;
        ssize_t n = recv(c->fd, c->in + c->in_len, c->in_cap - c->in_len, MSG_DONTWAIT);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
                return;
        if (n <= 0) {
                c->eof = true;
                return;
        }
        c->in_len += (size_t)n;
}

/* Answers what can be answered, in order, and watches for what is next.
 * May close c. */
static void conn_progress(struct server *s, struct conn *c)
{
        for (;;) {
                if (conn_flush(c) < 0) {
                        conn_close(s, c);
                        return;
                }
                if (c->out_len)
                        break; /* the client reads slowly: wait for EPOLLOUT */
                if (c->req)
                        break; /* one request at a time */
                if (c->close_after || s->stopping) {
                        conn_close(s, c);
                        return;
                }
                char *nl = c->in_len > c->scanned ? memchr(c->in + c->scanned, '\n', c->in_len - c->scanned) : NULL;
                size_t len;
                if (nl)
                        len = (size_t)(nl - c->in);
                else if (c->in_len > SERVE_MAX_LINE || (c->eof && c->in_len)) {
                        len = c->in_len; /* the last line, without its newline */
                } else {
                        c->scanned = c->in_len;
                        if (c->eof) {
                                conn_close(s, c);
                                return;
                        }
                        break;
                }
                if (len > SERVE_MAX_LINE) {
                        respond_error(c, NULL, "too_large",
                                      "the request is larger than %u MiB; the connection is closed",
                                      SERVE_MAX_LINE >> 20);
                        c->close_after = true;
                        c->in_len = c->scanned = 0;
                        continue;
                }
                size_t used = nl ? len + 1 : len;
                size_t l = len;
                if (l && c->in[l - 1] == '\r')
                        l--;
                bool blank = true;
                for (size_t i = 0; i < l && blank; i++)
                        blank = c->in[i] == ' ' || c->in[i] == '\t';
                if (!blank)
                        handle_line(s, c, c->in, l);
                memmove(c->in, c->in + used, c->in_len - used);
                c->in_len -= used;
                c->scanned = 0;
        }
        /* Read only when the next request is wanted, so a client cannot
         * pile up requests (or bytes) beyond one line. */
        uint32_t ev = 0;
        if (!c->req && !c->eof && !c->close_after && !s->stopping && !c->out_len)
                ev |= EPOLLIN;
        if (c->out_len)
                ev |= EPOLLOUT;
        conn_watch(s, c, ev);
}

static void accept_clients(struct server *s)
{
        for (;;) {
                int fd = accept4(s->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
                if (fd < 0) {
                        if (errno == EINTR || errno == ECONNABORTED)
                                continue;
                        if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                                /* Out of descriptors: stop listening until a
                                 * client leaves, instead of spinning. */
                                struct epoll_event ev = { .events = 0, .data.ptr = &s->lw };
                                if (epoll_ctl(s->ep, EPOLL_CTL_MOD, s->lfd, &ev) == 0)
                                        s->accept_paused = true;
                                log_warn("serve: not accepting clients for now: %s", strerror(errno));
                        }
                        return;
                }
                /* The socket is 0600; the peer's uid is checked as well,
                 * in case the directory or a bind mount exposes it. */
                struct ucred cr;
                socklen_t crl = sizeof cr;
                if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &crl) < 0 ||
                    (cr.uid != geteuid() && cr.uid != 0)) {
                        close(fd);
                        continue;
                }
                if (s->nconns >= s->cfg->max_clients) {
                        static const char busy[] = "{\"status\":125,\"error\":\"busy: too many clients are connected "
                                                   "(--max-clients)\",\"code\":\"busy\"}\n";
                        (void)!send(fd, busy, sizeof busy - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
                        close(fd);
                        continue;
                }
                struct conn *c = calloc(1, sizeof *c);
                struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c };
                if (!c || epoll_ctl(s->ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
                        free(c);
                        close(fd);
                        continue;
                }
                c->w.kind = W_CONN;
                c->fd = fd;
                c->events = EPOLLIN;
                c->next = s->conns;
                if (s->conns)
                        s->conns->prev = c;
                s->conns = c;
                s->nconns++;
        }
}

static void run_finish(struct server *s, struct run *r)
{
        for (struct run **p = &s->runs; *p; p = &(*p)->next)
                if (*p == r) {
                        *p = r->next;
                        break;
                }
        s->nrunning--;
        if (r->job.fd >= 0) {
                epoll_ctl(s->ep, EPOLL_CTL_DEL, r->job.fd, NULL);
                close(r->job.fd);
                r->job.fd = -1;
        }
        struct conn *c = r->conn;
        if (c) {
                char reason[128];
                const char *resp = job_response(&r->job, reason, sizeof reason);
                if (resp)
                        respond(c, r->req->op.id, resp);
                else if (s->stopping && r->job.killed)
                        respond_error(c, r->req->op.id, "stopping",
                                      "stopping: the run was killed after the server's %g s grace period",
                                      s->cfg->grace_s);
                else
                        respond_error(c, r->req->op.id, "internal", "the run ended without a response: %s", reason);
                c->run = NULL;
                c->req = NULL;
        }
        request_free(TAKE_PTR(r->req));
        job_free(&r->job);
        r->w.dead = true;
        r->gnext = s->grave_runs;
        s->grave_runs = r;
        queue_pump(s);
        if (c)
                conn_progress(s, c);
}

static void bury(struct server *s)
{
        while (s->grave_conns) {
                struct conn *c = s->grave_conns;
                s->grave_conns = c->gnext;
                free(c);
        }
        while (s->grave_runs) {
                struct run *r = s->grave_runs;
                s->grave_runs = r->gnext;
                free(r);
        }
}

static void reap(struct server *s)
{
        for (;;) {
                int st;
                pid_t pid = waitpid(-1, &st, WNOHANG);
                if (pid <= 0)
                        return;
                for (struct run *r = s->runs; r; r = r->next)
                        if (job_reaped(&r->job, pid, st)) {
                                run_finish(s, r);
                                break;
                        }
        }
}

static void begin_stop(struct server *s)
{
        s->stopping = true;
        s->stop_at = job_now();
        log_info("serve: stopping; %u run%s in flight (grace %g s)", s->nrunning, s->nrunning == 1 ? "" : "s",
                 s->cfg->grace_s);
        if (s->lfd >= 0) {
                epoll_ctl(s->ep, EPOLL_CTL_DEL, s->lfd, NULL);
                close(s->lfd);
                s->lfd = -1;
        }
        remove_socket(s);
        while (s->qhead) {
                struct conn *c = s->qhead;
                queue_remove(s, c);
                respond_error(c, c->req->op.id, "stopping", "stopping: the server is shutting down; the request "
                              "did not run");
                request_free(TAKE_PTR(c->req));
        }
        for (struct conn *c = s->conns, *next; c; c = next) {
                next = c->next;
                conn_progress(s, c);
        }
}

static void handle_signals(struct server *s)
{
        struct signalfd_siginfo si;
        while (read(s->sfd, &si, sizeof si) == sizeof si) {
                if (si.ssi_signo == SIGCHLD)
                        reap(s);
                else if (!s->stopping)
                        begin_stop(s);
                else if (!s->kill_sent) {
                        /* Asked twice: no more waiting. */
                        log_info("serve: stopping now");
                        s->stop_at = job_now() - s->cfg->grace_s - KILL_AFTER_S;
                }
        }
        reap(s);
}

/* Deadlines: the grace period, and SIGKILL after SIGTERM. Returns the
 * epoll timeout in milliseconds. */
static int timers(struct server *s)
{
        double now = job_now(), next = INFINITY;
        if (s->stopping) {
                double term = s->stop_at + s->cfg->grace_s, kill_ = term + KILL_AFTER_S;
                if (!s->term_sent && now >= term) {
                        s->term_sent = true;
                        for (struct run *r = s->runs; r; r = r->next)
                                job_stop(&r->job, now);
                }
                if (!s->kill_sent && now >= kill_) {
                        s->kill_sent = true;
                        for (struct run *r = s->runs; r; r = r->next)
                                job_kill(&r->job);
                }
                next = !s->term_sent ? term : !s->kill_sent ? kill_ : kill_ + FLUSH_AFTER_S;
        }
        for (struct run *r = s->runs; r; r = r->next) {
                if (r->job.term_at <= 0 || r->job.killed)
                        continue;
                if (now >= r->job.term_at + KILL_AFTER_S)
                        job_kill(&r->job);
                else if (r->job.term_at + KILL_AFTER_S < next)
                        next = r->job.term_at + KILL_AFTER_S;
        }
        if (next == INFINITY)
                return -1;
        double ms = (next - now) * 1000 + 1;
        return ms < 0 ? 0 : ms > 60000 ? 60000 : (int)ms;
}

static int compute_info(char **ret)
{
        struct system_facts f;
        probe_system(&f);
        struct json j = { 0 };
        info_json(&f, &j);
        const char *t = json_text(&j);
        *ret = t ? strdup(t) : NULL;
        json_free(&j);
        return *ret ? 0 : -ENOMEM;
}

static void loop(struct server *s)
{
        for (;;) {
                int timeout = timers(s);
                if (s->stopping) {
                        if (!s->nrunning && !s->nconns)
                                return;
                        if (s->kill_sent && job_now() >= s->stop_at + s->cfg->grace_s + KILL_AFTER_S + FLUSH_AFTER_S)
                                return;
                }
                struct epoll_event evs[64];
                int n = epoll_wait(s->ep, evs, 64, timeout);
                if (n < 0 && errno != EINTR) {
                        log_error("serve: epoll_wait: %s", strerror(errno));
                        if (!s->stopping)
                                begin_stop(s);
                        continue;
                }
                for (int i = 0; i < n; i++) {
                        struct watch *w = evs[i].data.ptr;
                        uint32_t e = evs[i].events;
                        if (w->dead)
                                continue;
                        switch (w->kind) {
                        case W_LISTEN:
                                accept_clients(s);
                                break;
                        case W_SIGNAL:
                                handle_signals(s);
                                break;
                        case W_RUN: {
                                struct run *r = (struct run *)w;
                                if (job_read(&r->job) != 0) {
                                        epoll_ctl(s->ep, EPOLL_CTL_DEL, r->job.fd, NULL);
                                        close(r->job.fd);
                                        r->job.fd = -1;
                                }
                                break;
                        }
                        case W_CONN: {
                                struct conn *c = (struct conn *)w;
                                if (e & (EPOLLHUP | EPOLLERR)) {
                                        /* Both directions gone: nobody to answer. */
                                        conn_close(s, c);
                                        break;
                                }
                                if (e & EPOLLIN)
                                        conn_read(c);
                                conn_progress(s, c);
                                break;
                        }
                        }
                }
                bury(s);
        }
}

int serve_run(const struct serve_config *cfg)
{
        struct server s = { .cfg = cfg, .ep = -1, .lfd = -1, .sfd = -1 };
        int status = 125;
        s.lw.kind = W_LISTEN;
        s.sw.kind = W_SIGNAL;
        s.ctx.api.policy_file = cfg->policy_file;
        _cleanup_free_ char *info = NULL, *scratch = NULL;

        sigset_t mask;
        sigemptyset(&mask);
        sigaddset(&mask, SIGCHLD);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGHUP);
        /* Blocked rather than ignored (which every run's command would
         * inherit): a closed stderr is then an EPIPE, not a death. Clients
         * are written with MSG_NOSIGNAL. */
        sigaddset(&mask, SIGPIPE);
        sigprocmask(SIG_BLOCK, &mask, &s.env.mask);
        sigdelset(&mask, SIGPIPE);
        int r;
        if ((r = compute_info(&info)) < 0) {
                log_error("serve: %s", strerror(-r));
                goto out;
        }
        s.ctx.info_json = info;
        if ((r = job_scratch_create(&scratch)) < 0) {
                log_error("serve: creating a directory for the runs' files: %s", strerror(-r));
                goto out;
        }
        s.env.scratch = scratch;
        s.ep = epoll_create1(EPOLL_CLOEXEC);
        s.sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
        if (s.ep < 0 || s.sfd < 0) {
                log_error("serve: epoll/signalfd: %s", strerror(errno));
                goto out;
        }
        struct stat st;
        s.lfd = listen_on(cfg->socket_path, &st);
        if (s.lfd < 0)
                goto out;
        s.sock_dev = st.st_dev;
        s.sock_ino = st.st_ino;
        struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &s.lw };
        struct epoll_event sev = { .events = EPOLLIN, .data.ptr = &s.sw };
        if (epoll_ctl(s.ep, EPOLL_CTL_ADD, s.lfd, &ev) < 0 || epoll_ctl(s.ep, EPOLL_CTL_ADD, s.sfd, &sev) < 0) {
                log_error("serve: epoll_ctl: %s", strerror(errno));
                remove_socket(&s);
                goto out;
        }
        char esc[256];
        log_info("serving on %s (%u runs at once, %u waiting)", log_escape(cfg->socket_path, esc, sizeof esc),
                 cfg->workers, cfg->queue);
        loop(&s);
        status = 0;
out:
        if (s.lfd >= 0) {
                close(s.lfd);
                remove_socket(&s);
        }
        while (s.conns)
                conn_close(&s, s.conns);
        while (s.runs) {
                struct run *rn = s.runs;
                s.runs = rn->next;
                if (rn->job.fd >= 0)
                        epoll_ctl(s.ep, EPOLL_CTL_DEL, rn->job.fd, NULL);
                request_free(rn->req);
                job_free(&rn->job); /* kills and reaps what is left */
                free(rn);
        }
        bury(&s);
        if (status == 0)
                log_info("serve: stopped");
        if (s.sfd >= 0)
                close(s.sfd);
        if (s.ep >= 0)
                close(s.ep);
        job_scratch_remove(scratch);
        sigprocmask(SIG_SETMASK, &s.env.mask, NULL);
        return status;
}
