/* SPDX-License-Identifier: MIT */
/* The egress proxy's engine: one thread, one epoll loop, no thread per
 * connection; two resolver threads so a slow DNS answer never stalls the
 * loop. A connection goes through these states:
 *
 *   DETECT      first byte: 0x05 is SOCKS5, anything else HTTP
 *   HTTP_HEAD   reading a request head (absolute-form or CONNECT)
 *   SOCKS_*     greeting, then the CONNECT request
 *   RESOLVE     the name is being resolved on the host side
 *   CONNECT     non-blocking connect to the next acceptable address
 *   TUNNEL      CONNECT/SOCKS: bytes spliced both ways, zero-copy
 *   FORWARD     HTTP: the request body goes up, the response comes down,
 *               framing tracked so the next request on a kept-alive
 *               connection is parsed and decided on its own
 *
 * Every decision (allowed or refused) is recorded with its reason. */
#include "net/egress.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <netdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "net/http.h"
#include "util/fdpass.h"
#include "util/json.h"
#include "util/log.h"
#include "util/macro.h"

#define BUF_SIZE (HTTP_MAX_HEAD + 16384)
#define MAX_CONNS 4096
#define RESOLVERS 2
#define TUNNEL_PIPE_SIZE (1 << 20)

enum cstate { CS_DETECT, CS_HTTP_HEAD, CS_SOCKS_GREET, CS_SOCKS_REQ, CS_RESOLVE, CS_CONNECT, CS_TUNNEL,
              CS_FORWARD, CS_CLOSING };
enum proto { P_HTTP, P_CONNECT, P_SOCKS, P_PUBLISH, P_HOST_PORT };

struct listener {
        struct egress *eg;
        int fd;
        enum forward_kind kind;
        uint16_t port;
        bool proxy;
};

struct buf {
        char data[BUF_SIZE];
        size_t len;
};

struct conn;

/* epoll's data.ptr: which end of which connection. */
struct end {
        struct conn *c;
        bool upstream;
};

struct conn {
        struct egress *eg;
        int cfd, ufd;
        struct end cend, uend;
        enum cstate st;
        enum proto proto;
        bool dead;           /* closed while a resolution was pending */
        bool resolving;
        struct buf in;       /* from the client, not yet consumed */
        struct buf out_c;    /* pending towards the client */
        struct buf out_u;    /* pending towards upstream */
        struct buf resp;     /* response head being assembled (FORWARD) */
        char host[256];
        uint16_t port;
        struct addrinfo *ai, *ai_next;
        /* FORWARD */
        struct http_request req;
        int64_t req_left;    /* request body bytes still to pass; -1 chunked */
        struct chunk_state req_chunks;
        bool req_done;
        bool resp_head_done;
        struct http_response res;
        int64_t resp_left;
        struct chunk_state resp_chunks;
        bool resp_done;
        bool client_keep_alive;
        /* TUNNEL: client->upstream and upstream->client pipes */
        int p_cu[2], p_uc[2];
        size_t in_cu, in_uc;  /* bytes sitting in each pipe */
        bool eof_c, eof_u;
        /* accounting */
        size_t decision;      /* index into eg->log, or SIZE_MAX */
        double t0;
        struct conn *prev, *next;   /* all live connections */
        struct conn *next_dead;     /* freed after the current batch of events */
};

struct resolve_job {
        struct conn *c;
        char host[256];
        struct addrinfo *result;
        int err;
        struct resolve_job *next;
};

struct egress {
        struct egress_config cfg;
        int epfd, stop_fd, done_fd;
        pthread_t loop;
        pthread_t resolvers[RESOLVERS];
        pthread_mutex_t lock;
        pthread_cond_t cond;
        struct resolve_job *jobs, *done;
        bool stopping;
        size_t n_conns;
        struct egress_decision *log;
        size_t n_log, cap_log;
        struct conn *conns;         /* live */
        struct conn *graveyard;     /* closed during this batch */
        struct listener *listeners; /* the proxy's, then each forward's */
        size_t n_listeners;
        bool paused;                /* listeners off: out of descriptors */
        struct sockaddr_storage *local; /* this machine's own addresses */
        size_t n_local;
        struct conn **waiting;      /* PUBLISH connections waiting for init's socket, in order */
        size_t n_waiting, cap_waiting;
};

static double now_s(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- decisions ------------------------------------------------------- */

static size_t record(struct egress *eg, struct conn *c, const char *proto, const char *host, uint16_t port,
                     bool allowed, const char *reason)
{
        if (eg->n_log == eg->cap_log) {
                size_t cap = eg->cap_log ? eg->cap_log * 2 : 64;
                struct egress_decision *n = realloc(eg->log, cap * sizeof *n);
                if (!n)
                        return SIZE_MAX;
                eg->log = n;
                eg->cap_log = cap;
        }
        struct egress_decision *d = &eg->log[eg->n_log];
        memset(d, 0, sizeof *d);
        d->start = c ? c->t0 : now_s();
        snprintf(d->proto, sizeof d->proto, "%s", proto);
        snprintf(d->host, sizeof d->host, "%s", host);
        d->port = port;
        d->allowed = allowed;
        snprintf(d->reason, sizeof d->reason, "%s", reason);
        return eg->n_log++;
}

static void log_decision(struct egress *eg, size_t i)
{
        if (eg->cfg.log_fd < 0 || i >= eg->n_log)
                return;
        const struct egress_decision *d = &eg->log[i];
        struct json j = { 0 };
        json_begin_object(&j);
        json_double(&j, "time", d->start);
        json_str(&j, "proto", d->proto);
        json_str(&j, "host", d->host);
        json_uint(&j, "port", d->port);
        json_str(&j, "decision", d->allowed ? "allowed" : "refused");
        json_str(&j, "reason", d->reason);
        json_uint(&j, "bytes_up", d->bytes_up);
        json_uint(&j, "bytes_down", d->bytes_down);
        json_double(&j, "duration_s", d->duration_s);
        json_end_object(&j);
        const char *t = json_text(&j);
        if (t) {
                char line[2048];
                int n = snprintf(line, sizeof line, "%s\n", t);
                if (n > 0 && (size_t)n < sizeof line)
                        (void)!write(eg->cfg.log_fd, line, (size_t)n);
        }
        json_free(&j);
}

/* ---- connection bookkeeping ------------------------------------------- */

static void listeners_pause(struct egress *eg, bool pause);

static int ep_set(struct egress *eg, int fd, struct end *e, uint32_t events, bool add)
{
        struct epoll_event ev = { .events = events, .data.ptr = e };
        return epoll_ctl(eg->epfd, add ? EPOLL_CTL_ADD : EPOLL_CTL_MOD, fd, &ev);
}

static void close_pipe(int p[2])
{
        for (int i = 0; i < 2; i++)
                if (p[i] >= 0) {
                        close(p[i]);
                        p[i] = -1;
                }
}

/* Releases everything a connection holds. Its memory is freed after the
 * current batch of events (which may still name it); until then it is dead. */
static void conn_release(struct conn *c)
{
        struct egress *eg = c->eg;
        if (c->decision != SIZE_MAX && c->decision < eg->n_log) {
                eg->log[c->decision].duration_s = now_s() - c->t0;
                log_decision(eg, c->decision);
                c->decision = SIZE_MAX;
        }
        if (c->cfd >= 0)
                close(c->cfd);
        if (c->ufd >= 0)
                close(c->ufd);
        c->cfd = c->ufd = -1;
        close_pipe(c->p_cu);
        close_pipe(c->p_uc);
        if (c->ai)
                freeaddrinfo(c->ai);
        c->ai = c->ai_next = NULL;
        if (c->prev)
                c->prev->next = c->next;
        else
                eg->conns = c->next;
        if (c->next)
                c->next->prev = c->prev;
        c->prev = c->next = NULL;
        /* A published connection still waiting for init's socket: its slot
         * in the queue stays (init answers in order) but no longer names it. */
        for (size_t i = 0; i < eg->n_waiting; i++)
                if (eg->waiting[i] == c)
                        eg->waiting[i] = NULL;
        eg->n_conns--;
        listeners_pause(eg, false);
        c->dead = true;
        c->next_dead = eg->graveyard;
        eg->graveyard = c;
}

static void conn_close(struct conn *c)
{
        if (c->dead)
                return;
        if (c->resolving) {
                /* The resolver still holds it: release when its answer comes. */
                c->dead = true;
                if (c->cfd >= 0) {
                        close(c->cfd);
                        c->cfd = -1;
                }
                return;
        }
        conn_release(c);
}

static void bury(struct egress *eg)
{
        while (eg->graveyard) {
                struct conn *c = eg->graveyard;
                eg->graveyard = c->next_dead;
                free(c);
        }
}

static void account(struct conn *c, size_t up, size_t down)
{
        struct egress *eg = c->eg;
        if (c->decision == SIZE_MAX || c->decision >= eg->n_log)
                return;
        eg->log[c->decision].bytes_up += up;
        eg->log[c->decision].bytes_down += down;
}

/* Answers the client and closes once the answer is out. */
static void reply_and_close(struct conn *c, const char *bytes, size_t len)
{
        size_t n = len < sizeof c->out_c.data - c->out_c.len ? len : sizeof c->out_c.data - c->out_c.len;
        memcpy(c->out_c.data + c->out_c.len, bytes, n);
        c->out_c.len += n;
        c->st = CS_CLOSING;
        if (c->ufd >= 0) {
                close(c->ufd);
                c->ufd = -1;
        }
        ep_set(c->eg, c->cfd, &c->cend, EPOLLOUT, false);
}

static void http_error(struct conn *c, int status, const char *reason)
{
        char body[256], msg[512];
        const char *text = status == 403 ? "Forbidden" : status == 400 ? "Bad Request"
                         : status == 431 ? "Request Header Fields Too Large" : status == 502 ? "Bad Gateway"
                         : "Service Unavailable";
        int bl = snprintf(body, sizeof body, "moat: %s\n", reason);
        int n = snprintf(msg, sizeof msg,
                         "HTTP/1.1 %d %s\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n"
                         "Connection: close\r\nX-Moat-Refused: 1\r\n\r\n%s",
                         status, text, bl, body);
        if (n > 0)
                reply_and_close(c, msg, (size_t)n < sizeof msg ? (size_t)n : sizeof msg - 1);
}

static void socks_reply(struct conn *c, uint8_t code, bool close_after)
{
        uint8_t r[10] = { 5, code, 0, 1, 0, 0, 0, 0, 0, 0 };
        if (close_after) {
                reply_and_close(c, (const char *)r, sizeof r);
                return;
        }
        memcpy(c->out_c.data + c->out_c.len, r, sizeof r);
        c->out_c.len += sizeof r;
}

static void refuse(struct conn *c, const char *host, uint16_t port, const char *reason)
{
        const char *proto = c->proto == P_SOCKS ? "socks" : c->proto == P_CONNECT ? "connect" : "http";
        size_t i = record(c->eg, c, proto, host, port, false, reason);
        log_decision(c->eg, i);
        if (c->proto == P_SOCKS)
                socks_reply(c, 2 /* not allowed by ruleset */, true);
        else
                http_error(c, 403, reason);
}

/* ---- deciding and resolving ------------------------------------------- */

static void start_resolve(struct conn *c);

/* Decides host:port (as sent) for c and starts resolution when allowed. */
static void decide(struct conn *c, const char *raw_host, uint16_t port)
{
        struct egress *eg = c->eg;
        char host[256], why[200];
        bool is_ip;
        if (host_normalize(raw_host, host, sizeof host, &is_ip) < 0) {
                char esc[300];
                snprintf(why, sizeof why, "'%s' is not a valid host name", log_escape(raw_host, esc, sizeof esc));
                refuse(c, raw_host, port, why);
                return;
        }
        const struct host_rule *rule = NULL;
        enum match_result m = hostmatch_name(eg->cfg.rules, eg->cfg.n_rules, host, port, &rule);
        if (m != MATCH_ALLOW) {
                snprintf(why, sizeof why, m == MATCH_DENY ? "denied by rule %s" : "not in allowed hosts",
                         rule ? rule->text : "");
                refuse(c, host, port, why);
                return;
        }
        snprintf(c->host, sizeof c->host, "%s", host);
        c->port = port;
        const char *proto = c->proto == P_SOCKS ? "socks" : c->proto == P_CONNECT ? "connect" : "http";
        snprintf(why, sizeof why, "allowed by %.150s", rule->text);
        c->decision = record(eg, c, proto, host, port, true, why);
        start_resolve(c);
}

static void *resolver_main(void *arg)
{
        struct egress *eg = arg;
        pthread_mutex_lock(&eg->lock);
        for (;;) {
                while (!eg->jobs && !eg->stopping)
                        pthread_cond_wait(&eg->cond, &eg->lock);
                if (eg->stopping)
                        break;
                struct resolve_job *j = eg->jobs;
                eg->jobs = j->next;
                pthread_mutex_unlock(&eg->lock);
                struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                                          .ai_flags = AI_NUMERICSERV };
                j->err = getaddrinfo(j->host, "1", &hints, &j->result);
                pthread_mutex_lock(&eg->lock);
                j->next = eg->done;
                eg->done = j;
                uint64_t one = 1;
                (void)!write(eg->done_fd, &one, sizeof one);
        }
        pthread_mutex_unlock(&eg->lock);
        return NULL;
}

static void start_resolve(struct conn *c)
{
        struct egress *eg = c->eg;
        struct resolve_job *j = calloc(1, sizeof *j);
        if (!j) {
                http_error(c, 503, "out of memory");
                return;
        }
        j->c = c;
        snprintf(j->host, sizeof j->host, "%s", c->host);
        c->resolving = true;
        c->st = CS_RESOLVE;
        /* Nothing is read from the client while we resolve. */
        ep_set(eg, c->cfd, &c->cend, 0, false);
        pthread_mutex_lock(&eg->lock);
        j->next = eg->jobs;
        eg->jobs = j;
        pthread_cond_signal(&eg->cond);
        pthread_mutex_unlock(&eg->lock);
}

static void try_connect(struct conn *c);

/* The addresses of this machine's own interfaces. A name resolving to one of
 * them would reach services the host binds on every interface, which is the
 * host's loopback by another door: refused unless an address rule names it. */
static void load_local_addresses(struct egress *eg)
{
        struct ifaddrs *ifa = NULL;
        if (getifaddrs(&ifa) < 0)
                return;
        size_t n = 0;
        for (struct ifaddrs *i = ifa; i; i = i->ifa_next)
                n += i->ifa_addr && (i->ifa_addr->sa_family == AF_INET || i->ifa_addr->sa_family == AF_INET6);
        eg->local = calloc(n ? n : 1, sizeof *eg->local);
        for (struct ifaddrs *i = ifa; eg->local && i; i = i->ifa_next) {
                if (!i->ifa_addr || (i->ifa_addr->sa_family != AF_INET && i->ifa_addr->sa_family != AF_INET6))
                        continue;
                memcpy(&eg->local[eg->n_local++], i->ifa_addr,
                       i->ifa_addr->sa_family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6));
        }
        freeifaddrs(ifa);
}

static bool is_local_address(const struct egress *eg, const struct sockaddr *sa)
{
        for (size_t i = 0; i < eg->n_local; i++) {
                const struct sockaddr *l = (const struct sockaddr *)&eg->local[i];
                if (l->sa_family != sa->sa_family)
                        continue;
                if (sa->sa_family == AF_INET &&
                    ((const struct sockaddr_in *)l)->sin_addr.s_addr == ((const struct sockaddr_in *)sa)->sin_addr.s_addr)
                        return true;
                if (sa->sa_family == AF_INET6 &&
                    memcmp(&((const struct sockaddr_in6 *)l)->sin6_addr, &((const struct sockaddr_in6 *)sa)->sin6_addr,
                           sizeof(struct in6_addr)) == 0)
                        return true;
        }
        return false;
}

static void resolved(struct egress *eg, struct resolve_job *j)
{
        struct conn *c = j->c;
        c->resolving = false;
        if (c->dead) {
                if (j->result)
                        freeaddrinfo(j->result);
                c->dead = false;
                conn_release(c);
                return;
        }
        if (j->err) {
                if (c->decision < eg->n_log) {
                        eg->log[c->decision].allowed = false;
                        snprintf(eg->log[c->decision].reason, sizeof eg->log[c->decision].reason,
                                 "cannot resolve: %s", gai_strerror(j->err));
                }
                if (c->proto == P_SOCKS)
                        socks_reply(c, 4 /* host unreachable */, true);
                else
                        http_error(c, 502, "the host name does not resolve");
                return;
        }
        c->ai = j->result;
        c->ai_next = j->result;
        try_connect(c);
}

/* Connects to the next resolved address that the rules accept. An allowed
 * name resolving to loopback, a private range or the metadata address is
 * refused unless an address rule names it: the check is on the address
 * actually connected, so DNS cannot open a door. */
static void try_connect(struct conn *c)
{
        struct egress *eg = c->eg;
        const char *last_why = NULL;
        char why[200];
        for (; c->ai_next; c->ai_next = c->ai_next->ai_next) {
                struct addrinfo *a = c->ai_next;
                if (a->ai_family == AF_INET)
                        ((struct sockaddr_in *)a->ai_addr)->sin_port = htons(c->port);
                else if (a->ai_family == AF_INET6)
                        ((struct sockaddr_in6 *)a->ai_addr)->sin6_port = htons(c->port);
                else
                        continue;
                char ip[INET6_ADDRSTRLEN] = "";
                const void *p = a->ai_family == AF_INET ? (const void *)&((struct sockaddr_in *)a->ai_addr)->sin_addr
                                                        : (const void *)&((struct sockaddr_in6 *)a->ai_addr)->sin6_addr;
                inet_ntop(a->ai_family, p, ip, sizeof ip);
                if (!hostmatch_address_ok(eg->cfg.rules, eg->cfg.n_rules, a->ai_addr, c->port)) {
                        snprintf(why, sizeof why, "resolves to %s (%s), which no address rule allows", ip,
                                 addr_class_name(addr_classify(a->ai_addr)));
                        last_why = why;
                        continue;
                }
                if (is_local_address(eg, a->ai_addr) &&
                    hostmatch_name(eg->cfg.rules, eg->cfg.n_rules, ip, c->port, NULL) != MATCH_ALLOW) {
                        snprintf(why, sizeof why, "resolves to %s, an address of this machine, which no address "
                                 "rule allows", ip);
                        last_why = why;
                        continue;
                }
                int fd = socket(a->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
                if (fd < 0)
                        continue;
                if (connect(fd, a->ai_addr, a->ai_addrlen) < 0 && errno != EINPROGRESS) {
                        close(fd);
                        continue;
                }
                c->ufd = fd;
                c->ai_next = a->ai_next;
                c->st = CS_CONNECT;
                ep_set(eg, fd, &c->uend, EPOLLOUT, true);
                return;
        }
        if (last_why) {
                if (c->decision < eg->n_log) {
                        eg->log[c->decision].allowed = false;
                        snprintf(eg->log[c->decision].reason, sizeof eg->log[c->decision].reason, "%.150s", last_why);
                }
                if (c->proto == P_SOCKS)
                        socks_reply(c, 2, true);
                else
                        http_error(c, 403, last_why);
                return;
        }
        if (c->proto == P_SOCKS)
                socks_reply(c, 5 /* connection refused */, true);
        else
                http_error(c, 502, "cannot connect to the host");
}

/* ---- phases after connecting ------------------------------------------ */

static void start_tunnel(struct conn *c)
{
        struct egress *eg = c->eg;
        if (pipe2(c->p_cu, O_CLOEXEC | O_NONBLOCK) < 0 || pipe2(c->p_uc, O_CLOEXEC | O_NONBLOCK) < 0) {
                conn_close(c);
                return;
        }
        /* Larger pipes: fewer wake-ups per megabyte on bulk transfers (the
         * default 64 KiB costs a round of epoll per 64 KiB). Best effort:
         * the kernel caps it at fs.pipe-max-size. */
        (void)fcntl(c->p_cu[1], F_SETPIPE_SZ, TUNNEL_PIPE_SIZE);
        (void)fcntl(c->p_uc[1], F_SETPIPE_SZ, TUNNEL_PIPE_SIZE);
        c->st = CS_TUNNEL;
        if (c->proto == P_CONNECT) {
                static const char ok[] = "HTTP/1.1 200 Connection established\r\n\r\n";
                memcpy(c->out_c.data + c->out_c.len, ok, sizeof ok - 1);
                c->out_c.len += sizeof ok - 1;
        } else if (c->proto == P_SOCKS)
                socks_reply(c, 0, false);
        /* Bytes the client sent after its request head go up first. */
        if (c->in.len) {
                memcpy(c->out_u.data, c->in.data, c->in.len);
                c->out_u.len = c->in.len;
                account(c, c->in.len, 0);
                c->in.len = 0;
        }
        ep_set(eg, c->cfd, &c->cend, EPOLLIN | EPOLLOUT, false);
        ep_set(eg, c->ufd, &c->uend, EPOLLIN | EPOLLOUT, false);
}

static void start_forward(struct conn *c)
{
        char out[BUF_SIZE];
        /* Upstream gets the name that was decided on, not the spelling the
         * client used ("allowed%2eTEST." becomes "allowed.test"). */
        snprintf(c->req.host, sizeof c->req.host, "%s", c->host);
        ssize_t n = http_rewrite_request(c->in.data, &c->req, c->req.keep_alive, out, sizeof out);
        if (n < 0 || (size_t)n > sizeof c->out_u.data) {
                http_error(c, 431, "request head too large to forward");
                return;
        }
        memcpy(c->out_u.data, out, (size_t)n);
        c->out_u.len = (size_t)n;
        account(c, (size_t)n, 0);
        /* Whatever followed the head in the buffer is body or the next
         * request; the body part goes up now. */
        memmove(c->in.data, c->in.data + c->req.head_len, c->in.len - c->req.head_len);
        c->in.len -= c->req.head_len;
        c->req_left = c->req.chunked ? -1 : c->req.content_length > 0 ? c->req.content_length : 0;
        memset(&c->req_chunks, 0, sizeof c->req_chunks);
        c->req_done = c->req_left == 0;
        c->resp_head_done = false;
        c->resp_done = false;
        c->resp.len = 0;
        c->client_keep_alive = c->req.keep_alive;
        c->st = CS_FORWARD;
        ep_set(c->eg, c->cfd, &c->cend, EPOLLIN | EPOLLOUT, false);
        ep_set(c->eg, c->ufd, &c->uend, EPOLLIN | EPOLLOUT, false);
}

static void connected(struct conn *c)
{
        int err = 0;
        socklen_t l = sizeof err;
        getsockopt(c->ufd, SOL_SOCKET, SO_ERROR, &err, &l);
        if (err) {
                epoll_ctl(c->eg->epfd, EPOLL_CTL_DEL, c->ufd, NULL);
                close(c->ufd);
                c->ufd = -1;
                if (c->proto == P_PUBLISH || c->proto == P_HOST_PORT)
                        conn_close(c); /* nothing listens there: the client sees the connection close */
                else
                        try_connect(c);
                return;
        }
        if (c->proto == P_HTTP)
                start_forward(c);
        else
                start_tunnel(c);
}

/* ---- I/O helpers -------------------------------------------------------- */

static int flush(int fd, struct buf *b)
{
        while (b->len) {
                ssize_t n = send(fd, b->data, b->len, MSG_NOSIGNAL);
                if (n < 0)
                        return errno == EAGAIN || errno == EINTR ? 0 : -1;
                memmove(b->data, b->data + n, b->len - (size_t)n);
                b->len -= (size_t)n;
        }
        return 0;
}

/* Reads what fits into b. Returns bytes read, 0 on EOF, -1 on error, -2 when
 * nothing is available or b is full. */
static ssize_t fill(int fd, struct buf *b)
{
        if (b->len == sizeof b->data)
                return -2;
        ssize_t n = recv(fd, b->data + b->len, sizeof b->data - b->len, 0);
        if (n < 0)
                return errno == EAGAIN || errno == EINTR ? -2 : -1;
        b->len += (size_t)n;
        return n;
}

/* One direction of a tunnel: src -> pipe -> dst, never through user space. */
static int splice_dir(int src, int p[2], size_t *in_pipe, int dst, bool *eof, uint64_t *count)
{
        for (;;) {
                if (*in_pipe) {
                        ssize_t n = splice(p[0], NULL, dst, NULL, *in_pipe, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
                        if (n < 0)
                                return errno == EAGAIN ? 0 : -1;
                        *in_pipe -= (size_t)n;
                        *count += (uint64_t)n;
                        if (*in_pipe)
                                return 0;
                }
                if (*eof)
                        return 0;
                ssize_t n = splice(src, NULL, p[1], NULL, TUNNEL_PIPE_SIZE, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
                if (n == 0) {
                        *eof = true;
                        shutdown(dst, SHUT_WR);
                        return 0;
                }
                if (n < 0)
                        return errno == EAGAIN ? 0 : -1;
                *in_pipe += (size_t)n;
        }
}

static void tunnel_io(struct conn *c)
{
        if (flush(c->cfd, &c->out_c) < 0 || flush(c->ufd, &c->out_u) < 0) {
                conn_close(c);
                return;
        }
        if (c->out_c.len || c->out_u.len)
                return;
        uint64_t up = 0, down = 0;
        if (splice_dir(c->cfd, c->p_cu, &c->in_cu, c->ufd, &c->eof_c, &up) < 0 ||
            splice_dir(c->ufd, c->p_uc, &c->in_uc, c->cfd, &c->eof_u, &down) < 0) {
                account(c, up, down);
                conn_close(c);
                return;
        }
        account(c, up, down);
        if (c->eof_c && c->eof_u && !c->in_cu && !c->in_uc) {
                conn_close(c);
                return;
        }
        /* Wait for input only where the pipe is empty, output where not. */
        uint32_t ce = (c->eof_c || c->in_cu ? 0 : EPOLLIN) | (c->in_uc ? EPOLLOUT : 0);
        uint32_t ue = (c->eof_u || c->in_uc ? 0 : EPOLLIN) | (c->in_cu ? EPOLLOUT : 0);
        ep_set(c->eg, c->cfd, &c->cend, ce, false);
        ep_set(c->eg, c->ufd, &c->uend, ue, false);
}

static void head_read(struct conn *c);

/* The response is complete: back to reading the next request, or close. */
static void forward_done(struct conn *c)
{
        struct egress *eg = c->eg;
        if (c->decision < eg->n_log) {
                eg->log[c->decision].duration_s = now_s() - c->t0;
                log_decision(eg, c->decision);
                c->decision = SIZE_MAX;
        }
        epoll_ctl(eg->epfd, EPOLL_CTL_DEL, c->ufd, NULL);
        close(c->ufd);
        c->ufd = -1;
        if (c->ai) {
                freeaddrinfo(c->ai);
                c->ai = c->ai_next = NULL;
        }
        if (!c->client_keep_alive || !c->res.keep_alive || c->res.until_close) {
                c->st = CS_CLOSING;
                ep_set(eg, c->cfd, &c->cend, EPOLLOUT, false);
                return;
        }
        c->st = CS_HTTP_HEAD;
        c->t0 = now_s();
        ep_set(eg, c->cfd, &c->cend, EPOLLIN | (c->out_c.len ? EPOLLOUT : 0), false);
        if (c->in.len)
                head_read(c); /* a pipelined request is already here */
}

/* Passes response bytes in c->resp to the client while tracking framing. */
static int pass_response(struct conn *c)
{
        while (c->resp.len && !c->resp_done) {
                if (!c->resp_head_done) {
                        enum http_parse_result r = http_parse_response(c->resp.data, c->resp.len,
                                                                       c->req.kind == HTTP_METHOD_HEAD, &c->res);
                        if (r == HTTP_INCOMPLETE)
                                return 0;
                        if (r != HTTP_OK)
                                return -1;
                        size_t h = c->res.head_len;
                        if (sizeof c->out_c.data - c->out_c.len < h)
                                return 0;
                        memcpy(c->out_c.data + c->out_c.len, c->resp.data, h);
                        c->out_c.len += h;
                        memmove(c->resp.data, c->resp.data + h, c->resp.len - h);
                        c->resp.len -= h;
                        account(c, 0, h);
                        if (c->res.status >= 100 && c->res.status < 200)
                                continue; /* 1xx: the final head follows */
                        c->resp_head_done = true;
                        c->resp_left = c->res.no_body ? 0 : c->res.chunked ? -1
                                     : c->res.until_close ? INT64_MAX : c->res.content_length;
                        memset(&c->resp_chunks, 0, sizeof c->resp_chunks);
                        if (c->resp_left == 0)
                                c->resp_done = true;
                        continue;
                }
                size_t room = sizeof c->out_c.data - c->out_c.len;
                size_t n = c->resp.len < room ? c->resp.len : room;
                if (!n)
                        return 0;
                if (c->resp_left == -1) {
                        ssize_t k = chunk_feed(&c->resp_chunks, c->resp.data, n);
                        if (k < 0)
                                return -1;
                        n = (size_t)k;
                        if (c->resp_chunks.done)
                                c->resp_done = true;
                } else {
                        if ((int64_t)n > c->resp_left)
                                n = (size_t)c->resp_left;
                        if (c->resp_left != INT64_MAX)
                                c->resp_left -= (int64_t)n;
                        if (c->resp_left == 0)
                                c->resp_done = true;
                }
                memcpy(c->out_c.data + c->out_c.len, c->resp.data, n);
                c->out_c.len += n;
                memmove(c->resp.data, c->resp.data + n, c->resp.len - n);
                c->resp.len -= n;
                account(c, 0, n);
        }
        return 0;
}

/* Moves request body bytes from c->in to upstream while tracking framing. */
static int pass_request_body(struct conn *c)
{
        while (!c->req_done && c->in.len) {
                size_t room = sizeof c->out_u.data - c->out_u.len;
                size_t n = c->in.len < room ? c->in.len : room;
                if (!n)
                        return 0;
                if (c->req_left == -1) {
                        ssize_t k = chunk_feed(&c->req_chunks, c->in.data, n);
                        if (k < 0)
                                return -1;
                        n = (size_t)k;
                        if (c->req_chunks.done)
                                c->req_done = true;
                } else {
                        if ((int64_t)n > c->req_left)
                                n = (size_t)c->req_left;
                        c->req_left -= (int64_t)n;
                        if (c->req_left == 0)
                                c->req_done = true;
                }
                memcpy(c->out_u.data + c->out_u.len, c->in.data, n);
                c->out_u.len += n;
                memmove(c->in.data, c->in.data + n, c->in.len - n);
                c->in.len -= n;
                account(c, n, 0);
        }
        return 0;
}

static void forward_io(struct conn *c)
{
        /* Request body up. Bytes after the body stay in c->in: the next
         * request, decided on its own once this response is done. */
        if (!c->req_done) {
                ssize_t r = fill(c->cfd, &c->in);
                if (r == 0 || r == -1) {
                        conn_close(c);
                        return;
                }
        }
        if (pass_request_body(c) < 0 || flush(c->ufd, &c->out_u) < 0) {
                conn_close(c);
                return;
        }
        /* Response down. */
        ssize_t r = fill(c->ufd, &c->resp);
        if (r == 0) {
                if (c->resp_head_done && c->res.until_close)
                        c->resp_done = true;
                else if (!c->resp_done) {
                        if (!c->resp_head_done)
                                http_error(c, 502, "the server closed the connection without answering");
                        else
                                conn_close(c);
                        return;
                }
        } else if (r == -1) {
                conn_close(c);
                return;
        }
        if (pass_response(c) < 0) {
                conn_close(c);
                return;
        }
        if (c->resp_done && c->resp.len) {
                /* Bytes past the end of the response: never forwarded as if
                 * they answered the client's next request. */
                c->resp.len = 0;
                c->res.keep_alive = false;
        }
        if (flush(c->cfd, &c->out_c) < 0) {
                conn_close(c);
                return;
        }
        if (c->resp_done && c->req_done && !c->resp.len) {
                forward_done(c);
                return;
        }
        /* Read only where there is room: no busy loop when a peer is slow. */
        uint32_t ce = (!c->req_done && c->in.len < sizeof c->in.data ? EPOLLIN : 0) | (c->out_c.len ? EPOLLOUT : 0);
        uint32_t ue = (c->resp.len < sizeof c->resp.data ? EPOLLIN : 0) | (c->out_u.len ? EPOLLOUT : 0);
        ep_set(c->eg, c->cfd, &c->cend, ce, false);
        ep_set(c->eg, c->ufd, &c->uend, ue, false);
}

/* ---- reading requests ------------------------------------------------- */

static void head_read(struct conn *c)
{
        enum http_parse_result r = http_parse_request(c->in.data, c->in.len, &c->req);
        if (r == HTTP_INCOMPLETE)
                return;
        if (r == HTTP_TOO_LARGE) {
                http_error(c, 431, "request head too large");
                return;
        }
        if (r != HTTP_OK) {
                http_error(c, 400, "malformed request (a proxy takes absolute-form URLs or CONNECT)");
                return;
        }
        if (c->req.kind == HTTP_METHOD_CONNECT) {
                c->proto = P_CONNECT;
                memmove(c->in.data, c->in.data + c->req.head_len, c->in.len - c->req.head_len);
                c->in.len -= c->req.head_len;
                decide(c, c->req.host, c->req.port);
                return;
        }
        c->proto = P_HTTP;
        if (c->req.https_scheme) {
                http_error(c, 400, "https:// URLs go through CONNECT");
                return;
        }
        /* The Host header must name what the URL names: a request that says
         * one host to the proxy and another to the server is refused. */
        if (c->req.host_header[0]) {
                char a[256], b[256];
                bool ip;
                char authority[300];
                snprintf(authority, sizeof authority, "%s", c->req.host_header);
                char *colon = strrchr(authority, ':');
                if (colon && !strchr(colon, ']'))
                        *colon = '\0';
                if (host_normalize(c->req.host, a, sizeof a, &ip) < 0 ||
                    host_normalize(authority, b, sizeof b, &ip) < 0 || strcmp(a, b) != 0) {
                        http_error(c, 400, "the Host header does not match the URL");
                        return;
                }
        }
        decide(c, c->req.host, c->req.port);
}

static void socks_read(struct conn *c)
{
        if (c->st == CS_SOCKS_GREET) {
                ssize_t n = socks_parse_greeting((const uint8_t *)c->in.data, c->in.len);
                if (n == 0)
                        return;
                if (n < 0) {
                        static const char no[2] = { 5, (char)0xff };
                        reply_and_close(c, no, 2);
                        return;
                }
                memmove(c->in.data, c->in.data + n, c->in.len - (size_t)n);
                c->in.len -= (size_t)n;
                static const char yes[2] = { 5, 0 };
                memcpy(c->out_c.data + c->out_c.len, yes, 2);
                c->out_c.len += 2;
                ep_set(c->eg, c->cfd, &c->cend, EPOLLIN | EPOLLOUT, false);
                c->st = CS_SOCKS_REQ;
        }
        struct socks_request sr;
        enum http_parse_result r = socks_parse_request((const uint8_t *)c->in.data, c->in.len, &sr);
        if (r == HTTP_INCOMPLETE)
                return;
        if (r != HTTP_OK) {
                socks_reply(c, 1, true);
                return;
        }
        if (sr.cmd != 1) {
                socks_reply(c, 7 /* command not supported */, true);
                return;
        }
        memmove(c->in.data, c->in.data + sr.len, c->in.len - sr.len);
        c->in.len -= sr.len;
        decide(c, sr.host, sr.port);
}

static void client_io(struct conn *c, uint32_t events)
{
        if (events & EPOLLOUT) {
                if (flush(c->cfd, &c->out_c) < 0) {
                        conn_close(c);
                        return;
                }
                if (c->st == CS_CLOSING && !c->out_c.len) {
                        conn_close(c);
                        return;
                }
        }
        if (c->st == CS_TUNNEL) {
                tunnel_io(c);
                return;
        }
        if (c->st == CS_FORWARD) {
                forward_io(c);
                return;
        }
        if (!(events & (EPOLLIN | EPOLLHUP | EPOLLERR)) || c->st == CS_CLOSING)
                return;
        ssize_t n = fill(c->cfd, &c->in);
        if (n == 0 || n == -1) {
                conn_close(c);
                return;
        }
        if (c->st == CS_DETECT && c->in.len) {
                c->st = (unsigned char)c->in.data[0] == 5 ? CS_SOCKS_GREET : CS_HTTP_HEAD;
                c->proto = c->st == CS_SOCKS_GREET ? P_SOCKS : P_HTTP;
        }
        if (c->st == CS_HTTP_HEAD)
                head_read(c);
        else if (c->st == CS_SOCKS_GREET || c->st == CS_SOCKS_REQ)
                socks_read(c);
        if (c->st == CS_HTTP_HEAD && n == -2 && c->in.len == sizeof c->in.data)
                http_error(c, 431, "request head too large");
}

static void upstream_io(struct conn *c, uint32_t events)
{
        if (c->st == CS_CONNECT) {
                if (events & (EPOLLOUT | EPOLLERR | EPOLLHUP))
                        connected(c);
                return;
        }
        if (c->st == CS_TUNNEL)
                tunnel_io(c);
        else if (c->st == CS_FORWARD)
                forward_io(c);
}

static struct conn *conn_new(struct egress *eg, int fd)
{
        struct conn *c = calloc(1, sizeof *c);
        if (!c)
                return NULL;
        c->eg = eg;
        c->cfd = fd;
        c->ufd = -1;
        c->p_cu[0] = c->p_cu[1] = c->p_uc[0] = c->p_uc[1] = -1;
        c->cend = (struct end){ c, false };
        c->uend = (struct end){ c, true };
        c->decision = SIZE_MAX;
        c->t0 = now_s();
        c->next = eg->conns;
        if (eg->conns)
                eg->conns->prev = c;
        eg->conns = c;
        eg->n_conns++;
        return c;
}

/* A forward's connection is set up; its end inside or outside is given by
 * connecting. */
static void forward_accepted(struct egress *eg, struct conn *c, const struct listener *l)
{
        char host[32];
        if (l->kind == FWD_HOST_PORT) {
                /* From inside to the host's own loopback, this port only. */
                c->proto = P_HOST_PORT;
                c->port = l->port;
                snprintf(host, sizeof host, "127.0.0.1");
                c->decision = record(eg, c, "host", host, l->port, true, "allowed by --host-port");
                struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(l->port),
                                         .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
                int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
                if (fd < 0 || (connect(fd, (struct sockaddr *)&a, sizeof a) < 0 && errno != EINPROGRESS)) {
                        if (fd >= 0)
                                close(fd);
                        conn_close(c);
                        return;
                }
                c->ufd = fd;
                c->st = CS_CONNECT;
                ep_set(eg, c->cfd, &c->cend, 0, true);
                ep_set(eg, fd, &c->uend, EPOLLOUT, true);
                return;
        }
        /* Published: ask init for a socket connecting inside. */
        c->proto = P_PUBLISH;
        c->port = l->port;
        c->decision = record(eg, c, "publish", "127.0.0.1", l->port, true, "published with -p");
        struct forward_request req = { .port = l->port };
        if (eg->cfg.init_sock < 0 || send(eg->cfg.init_sock, &req, sizeof req, MSG_NOSIGNAL) != sizeof req) {
                conn_close(c);
                return;
        }
        if (eg->n_waiting == eg->cap_waiting) {
                size_t cap = eg->cap_waiting ? eg->cap_waiting * 2 : 16;
                struct conn **w = realloc(eg->waiting, cap * sizeof *w);
                if (!w) {
                        conn_close(c);
                        return;
                }
                eg->waiting = w;
                eg->cap_waiting = cap;
        }
        eg->waiting[eg->n_waiting++] = c;
        c->st = CS_CONNECT;
        ep_set(eg, c->cfd, &c->cend, 0, true);
}

/* init's answer to the oldest waiting published connection. */
static void init_answered(struct egress *eg)
{
        struct forward_request ans;
        int fd;
        if (fdpass_recv(eg->cfg.init_sock, &ans, sizeof ans, &fd, MSG_DONTWAIT) <= 0)
                return;
        if (!eg->n_waiting) {
                if (fd >= 0)
                        close(fd);
                return;
        }
        struct conn *c = eg->waiting[0];
        memmove(eg->waiting, eg->waiting + 1, (eg->n_waiting - 1) * sizeof *eg->waiting);
        eg->n_waiting--;
        if (!c || c->dead || ans.err || fd < 0) {
                if (fd >= 0)
                        close(fd);
                if (c)
                        conn_close(c);
                return;
        }
        c->ufd = fd;
        ep_set(eg, fd, &c->uend, EPOLLOUT, true);
}

/* Out of descriptors: stop listening until a connection closes, instead of
 * waking up forever on a connection that cannot be accepted. */
static void listeners_pause(struct egress *eg, bool pause)
{
        if (eg->paused == pause)
                return;
        eg->paused = pause;
        for (size_t i = 0; i < eg->n_listeners; i++) {
                struct epoll_event ev = { .events = pause ? 0 : EPOLLIN, .data.ptr = &eg->listeners[i] };
                epoll_ctl(eg->epfd, EPOLL_CTL_MOD, eg->listeners[i].fd, &ev);
        }
}

static void accept_clients(struct egress *eg, struct listener *l)
{
        for (;;) {
                int fd = accept4(l->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
                if (fd < 0) {
                        if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
                                listeners_pause(eg, true);
                        return;
                }
                if (eg->n_conns >= MAX_CONNS) {
                        close(fd);
                        listeners_pause(eg, true);
                        return;
                }
                struct conn *c = conn_new(eg, fd);
                if (!c) {
                        close(fd);
                        continue;
                }
                if (!l->proxy) {
                        forward_accepted(eg, c, l);
                        continue;
                }
                ep_set(eg, fd, &c->cend, EPOLLIN, true);
        }
}

static void *loop_main(void *arg)
{
        struct egress *eg = arg;
        struct epoll_event evs[64];
        for (;;) {
                int n = epoll_wait(eg->epfd, evs, 64, -1);
                if (n < 0 && errno != EINTR)
                        break;
                for (int i = 0; i < n; i++) {
                        void *p = evs[i].data.ptr;
                        if (p == &eg->stop_fd)
                                return NULL;
                        if (p == &eg->cfg.init_sock) {
                                init_answered(eg);
                                continue;
                        }
                        if (p >= (void *)eg->listeners && p < (void *)(eg->listeners + eg->n_listeners)) {
                                accept_clients(eg, p);
                                continue;
                        }
                        if (p == &eg->done_fd) {
                                uint64_t v;
                                (void)!read(eg->done_fd, &v, sizeof v);
                                pthread_mutex_lock(&eg->lock);
                                struct resolve_job *j = eg->done;
                                eg->done = NULL;
                                pthread_mutex_unlock(&eg->lock);
                                while (j) {
                                        struct resolve_job *next = j->next;
                                        resolved(eg, j);
                                        free(j);
                                        j = next;
                                }
                                continue;
                        }
                        /* A connection closed earlier in this batch stays in
                         * memory until the batch ends, marked dead. */
                        struct end *e = p;
                        if (e->c->dead)
                                continue;
                        if (e->upstream)
                                upstream_io(e->c, evs[i].events);
                        else
                                client_io(e->c, evs[i].events);
                }
                bury(eg);
        }
        return NULL;
}

int egress_start(const struct egress_config *cfg, struct egress **ret)
{
        /* Each tunnel holds six descriptors (two sockets, two pipes): take
         * the whole hard limit the user has, not the usual soft 1024. */
        struct rlimit rl;
        if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
                rl.rlim_cur = rl.rlim_max;
                (void)setrlimit(RLIMIT_NOFILE, &rl);
        }
        struct egress *eg = calloc(1, sizeof *eg);
        if (!eg)
                return -ENOMEM;
        eg->cfg = *cfg;
        eg->epfd = epoll_create1(EPOLL_CLOEXEC);
        eg->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        eg->done_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        pthread_mutex_init(&eg->lock, NULL);
        pthread_cond_init(&eg->cond, NULL);
        if (eg->epfd < 0 || eg->stop_fd < 0 || eg->done_fd < 0) {
                int r = negerrno();
                egress_free(eg);
                return r;
        }
        eg->listeners = calloc(cfg->n_forwards + 1, sizeof *eg->listeners);
        if (!eg->listeners) {
                egress_free(eg);
                return -ENOMEM;
        }
        if (cfg->listen_fd >= 0)
                eg->listeners[eg->n_listeners++] = (struct listener){ eg, cfg->listen_fd, FWD_KIND_MAX, 0, true };
        for (size_t i = 0; i < cfg->n_forwards; i++)
                eg->listeners[eg->n_listeners++] = (struct listener){ eg, cfg->forwards[i].listen_fd,
                                                                      cfg->forwards[i].kind, cfg->forwards[i].port,
                                                                      false };
        struct epoll_event ev = { .events = EPOLLIN };
        for (size_t i = 0; i < eg->n_listeners; i++) {
                fcntl(eg->listeners[i].fd, F_SETFL, fcntl(eg->listeners[i].fd, F_GETFL) | O_NONBLOCK);
                ev.data.ptr = &eg->listeners[i];
                epoll_ctl(eg->epfd, EPOLL_CTL_ADD, eg->listeners[i].fd, &ev);
        }
        if (cfg->init_sock >= 0) {
                ev.data.ptr = &eg->cfg.init_sock;
                epoll_ctl(eg->epfd, EPOLL_CTL_ADD, cfg->init_sock, &ev);
        }
        ev.data.ptr = &eg->stop_fd;
        epoll_ctl(eg->epfd, EPOLL_CTL_ADD, eg->stop_fd, &ev);
        ev.data.ptr = &eg->done_fd;
        epoll_ctl(eg->epfd, EPOLL_CTL_ADD, eg->done_fd, &ev);
        load_local_addresses(eg);
        for (int i = 0; i < RESOLVERS; i++)
                pthread_create(&eg->resolvers[i], NULL, resolver_main, eg);
        if (pthread_create(&eg->loop, NULL, loop_main, eg) != 0) {
                egress_free(eg);
                return -EAGAIN;
        }
        *ret = eg;
        return 0;
}

void egress_stop(struct egress *eg)
{
        if (!eg || eg->stopping)
                return;
        uint64_t one = 1;
        (void)!write(eg->stop_fd, &one, sizeof one);
        pthread_join(eg->loop, NULL);
        pthread_mutex_lock(&eg->lock);
        eg->stopping = true;
        pthread_cond_broadcast(&eg->cond);
        pthread_mutex_unlock(&eg->lock);
        for (int i = 0; i < RESOLVERS; i++)
                pthread_join(eg->resolvers[i], NULL);
        /* Answers that arrived after the loop ended, and jobs never run. */
        for (struct resolve_job *j = eg->done, *next; j; j = next) {
                next = j->next;
                j->c->resolving = false;
                if (j->result)
                        freeaddrinfo(j->result);
                free(j);
        }
        for (struct resolve_job *j = eg->jobs, *next; j; j = next) {
                next = j->next;
                j->c->resolving = false;
                free(j);
        }
        eg->done = eg->jobs = NULL;
        while (eg->conns) {
                eg->conns->resolving = false;
                eg->conns->dead = false;
                conn_release(eg->conns);
        }
        bury(eg);
}

const struct egress_decision *egress_decisions(const struct egress *eg, size_t *ret_n)
{
        *ret_n = eg ? eg->n_log : 0;
        return eg ? eg->log : NULL;
}

void egress_free(struct egress *eg)
{
        if (!eg)
                return;
        if (!eg->stopping && eg->loop)
                egress_stop(eg);
        if (eg->epfd >= 0)
                close(eg->epfd);
        if (eg->stop_fd >= 0)
                close(eg->stop_fd);
        if (eg->done_fd >= 0)
                close(eg->done_fd);
        for (size_t i = 0; i < eg->n_listeners; i++)
                close(eg->listeners[i].fd);
        free(eg->listeners);
        free(eg->waiting);
        free(eg->local);
        pthread_mutex_destroy(&eg->lock);
        pthread_cond_destroy(&eg->cond);
        free(eg->log);
        free(eg);
}

void egress_summary(const struct egress *eg, char *buf, size_t size)
{
        buf[0] = '\0';
        if (!eg)
                return;
        size_t refused = 0;
        for (size_t i = 0; i < eg->n_log; i++)
                refused += !eg->log[i].allowed;
        if (!refused)
                return;
        size_t o = (size_t)snprintf(buf, size, "blocked %zu connection%s:", refused, refused == 1 ? "" : "s");
        /* Group by host:port and reason, in first-seen order, at most 5. */
        size_t shown = 0;
        for (size_t i = 0; i < eg->n_log && shown < 5 && o < size; i++) {
                const struct egress_decision *d = &eg->log[i];
                if (d->allowed)
                        continue;
                bool seen = false;
                for (size_t k = 0; k < i && !seen; k++)
                        seen = !eg->log[k].allowed && eg->log[k].port == d->port &&
                               strcmp(eg->log[k].host, d->host) == 0;
                if (seen)
                        continue;
                size_t count = 0;
                for (size_t k = i; k < eg->n_log; k++)
                        count += !eg->log[k].allowed && eg->log[k].port == d->port &&
                                 strcmp(eg->log[k].host, d->host) == 0;
                char esc[600], times[32] = "";
                log_escape(d->host, esc, sizeof esc);
                if (count > 1)
                        snprintf(times, sizeof times, " x%zu", count);
                bool v6 = strchr(d->host, ':') != NULL;
                int n = snprintf(buf + o, size - o, "%s %s%s%s:%u%s — %s", shown ? "," : "", v6 ? "[" : "", esc,
                                 v6 ? "]" : "", d->port, times, d->reason);
                if (n < 0)
                        break;
                o += (size_t)n;
                shown++;
        }
}
