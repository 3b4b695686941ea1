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
 *   CLOSING     a last answer goes out, then the client's side is shut
 *               and what it still sends is read and dropped until it closes
 *
 * Every decision (allowed or refused) is recorded with its reason.
 *
 * Two rules keep the loop from spinning: epoll is told, after every
 * handler, exactly what each end waits for (nothing is polled for output
 * with nothing to write), and an end that hung up while nothing is wanted
 * from it is closed or taken out of epoll (settle), since epoll reports a
 * hang-up whatever it was asked for. Everything a connection holds on the
 * host is bounded: see EGRESS_MAX_CONNS. */
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

/* The user-space buffers of a connection, each allocated when first used
 * and freed when its phase ends: an idle or tunnelling connection holds
 * none. */
#define BUF_SIZE (HTTP_MAX_HEAD + 16384)
#define RESOLVERS 2
/* A tunnel's pipes start at the kernel's default size (64 KiB). One that a
 * single read fills half of is moving bulk data and grows to this, within
 * EGRESS_MAX_GROWN_PIPES: with 64 KiB pipes every 64 KiB costs a round of
 * epoll (0.81 of direct loopback throughput, against 0.98 with 1 MiB). */
#define TUNNEL_PIPE_SIZE (1 << 20)
/* A connection that always has bytes to move yields after this many rounds,
 * so that one fast transfer cannot starve the others on the loop; epoll is
 * level-triggered and brings it back. */
#define ROUNDS 16
#define ACCEPTS 64
/* Names resolved in the last RESOLVE_TTL_S seconds are not asked again:
 * getaddrinfo gives no TTL, and a short one of our own keeps a name's
 * changes visible while sparing a resolver round trip per request. The
 * address is still checked at every connect. */
#define RESOLVE_TTL_S 30.0
#define RESOLVE_CACHE 64

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
        char *data; /* BUF_SIZE bytes, or NULL */
        size_t len;
};

struct conn;

/* epoll's data.ptr: which end of which connection, and what epoll has been
 * told about it. */
struct end {
        struct conn *c;
        bool upstream;
        bool watched;  /* registered with epoll */
        bool hup;      /* epoll reported EPOLLHUP or EPOLLERR on the current fd */
        uint32_t mask; /* the events asked for */
};

/* The addresses a name resolved to, in the resolver's order. */
struct addr_list {
        size_t n;
        struct sockaddr_storage a[];
};

struct cached_name {
        char host[256];
        double expires;          /* monotonic seconds */
        struct addr_list *addrs; /* NULL: a free slot */
};

/* One direction of a tunnel. */
struct pipe_dir {
        int p[2];
        size_t queued;    /* bytes sitting in the pipe */
        size_t size;      /* its capacity */
        bool eof;         /* the source has ended */
        bool grown;       /* counted in eg->n_grown */
        bool grow_failed; /* the kernel refused: not asked again */
};

struct conn {
        struct egress *eg;
        int cfd, ufd;
        struct end cend, uend;
        enum cstate st;
        enum proto proto;
        bool dead;           /* closed while a resolution was pending */
        bool resolving;
        bool broken;         /* epoll refused it: closed once the current handler returns */
        bool lingering;      /* CLOSING: the answer is out and our side shut */
        struct buf in;       /* from the client, not yet consumed */
        struct buf out_c;    /* pending towards the client */
        struct buf out_u;    /* pending towards upstream */
        struct buf resp;     /* response bytes being framed (FORWARD) */
        char host[256];
        uint16_t port;
        struct addr_list *addrs;  /* being tried, from addrs->a[next_addr] */
        size_t next_addr;
        /* An upstream connection kept after a response, idle in c->ufd, for
         * the next request to the same name and port on this client
         * connection. */
        bool up_kept;
        char up_host[256];
        uint16_t up_port;
        char *retry;         /* the head of a bodiless request sent over a kept connection */
        size_t retry_len;
        bool resend;         /* connecting afresh for that head */
        bool ready;          /* on eg->ready: a pipelined request waits in c->in */
        struct conn *next_ready;
        /* FORWARD: one request and its response; forward_reset clears it */
        struct http_request req;
        int64_t req_left;    /* request body bytes still to pass; -1 chunked */
        struct chunk_state req_chunks;
        bool req_done;       /* the whole body has been taken from the client */
        bool up_wr_closed;   /* upstream takes no more bytes (it failed, or ended) */
        bool up_eof;         /* upstream ended: closed or reset */
        bool resp_started;   /* response bytes have gone towards the client */
        bool resp_head_done;
        struct http_response res;
        int64_t resp_left;
        struct chunk_state resp_chunks;
        bool resp_done;
        bool client_keep_alive;
        /* TUNNEL: client->upstream and upstream->client */
        struct pipe_dir cu, uc;
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
        size_t n_grown;             /* tunnel pipes grown to TUNNEL_PIPE_SIZE */
        struct egress_decision *log;
        size_t n_log, cap_log;
        uint64_t dropped_allowed, dropped_refused; /* compacted out of log, counted */
        struct conn *conns;         /* live */
        struct conn *graveyard;     /* closed during this batch */
        struct listener *listeners; /* the proxy's, then each forward's */
        size_t n_listeners;
        bool paused;                /* listeners off: out of descriptors */
        bool init_gone;             /* init's socket hung up: no more published connections */
        struct sockaddr_storage *local; /* this machine's own addresses */
        size_t n_local;
        struct conn **waiting;      /* PUBLISH connections waiting for init's socket, in order */
        size_t n_waiting, cap_waiting;
        struct conn *ready;         /* connections with a pipelined request to read after this batch */
        struct cached_name cache[RESOLVE_CACHE];
};

static double now_s(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double mono_s(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- decisions ------------------------------------------------------- */

/* The decisions kept in memory are bounded: a sandbox making requests in a
 * loop must not grow the supervisor without limit. When the log is full,
 * decisions no live connection refers to (already written to --log) are
 * dropped and only counted, keeping the first refusals for the summary. */
static void compact_log(struct egress *eg)
{
        bool *live = calloc(eg->n_log, sizeof *live);
        size_t *map = calloc(eg->n_log, sizeof *map);
        if (!live || !map) {
                free(live);
                free(map);
                return;
        }
        for (struct conn *c = eg->conns; c; c = c->next)
                if (c->decision < eg->n_log)
                        live[c->decision] = true;
        size_t kept = 0, kept_refused = 0;
        for (size_t i = 0; i < eg->n_log; i++) {
                const struct egress_decision *d = &eg->log[i];
                bool keep = live[i] || (!d->allowed && kept_refused < EGRESS_KEPT_REFUSALS);
                if (!keep) {
                        if (d->allowed)
                                eg->dropped_allowed++;
                        else
                                eg->dropped_refused++;
                        map[i] = SIZE_MAX;
                        continue;
                }
                kept_refused += !d->allowed && !live[i];
                map[i] = kept;
                if (kept != i)
                        eg->log[kept] = *d;
                kept++;
        }
        for (struct conn *c = eg->conns; c; c = c->next)
                if (c->decision < eg->n_log)
                        c->decision = map[c->decision];
        eg->n_log = kept;
        free(live);
        free(map);
}

static size_t record(struct egress *eg, struct conn *c, const char *proto, const char *host, uint16_t port,
                     bool allowed, const char *reason)
{
        if (eg->n_log >= EGRESS_MAX_DECISIONS)
                compact_log(eg);
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

/* ---- buffers ------------------------------------------------------------ */

static int buf_get(struct buf *b)
{
        if (!b->data && !(b->data = malloc(BUF_SIZE)))
                return -ENOMEM;
        return 0;
}

static size_t buf_room(const struct buf *b)
{
        return BUF_SIZE - b->len;
}

static void buf_drop(struct buf *b)
{
        free(b->data);
        b->data = NULL;
        b->len = 0;
}

static void buf_consume(struct buf *b, size_t n)
{
        memmove(b->data, b->data + n, b->len - n);
        b->len -= n;
}

/* Appends what fits; returns -ENOMEM or the bytes appended. */
static ssize_t buf_put(struct buf *b, const void *p, size_t n)
{
        if (buf_get(b) < 0)
                return -ENOMEM;
        if (n > buf_room(b))
                n = buf_room(b);
        memcpy(b->data + b->len, p, n);
        b->len += n;
        return (ssize_t)n;
}

/* ---- connection bookkeeping ------------------------------------------- */

static void listeners_pause(struct egress *eg, bool pause);

static int end_fd(const struct end *e)
{
        return e->upstream ? e->c->ufd : e->c->cfd;
}

/* Tells epoll what one end waits for. epoll reports EPOLLHUP and EPOLLERR
 * whatever the mask, so an end that hung up and from which nothing is
 * wanted now leaves epoll altogether: left in, it would wake the loop again
 * and again for nothing. It comes back once something is wanted from it,
 * and the read or write then meets the end or the error. */
static void watch(struct end *e, uint32_t mask)
{
        struct conn *c = e->c;
        int fd = end_fd(e);
        if (fd < 0 || c->dead)
                return;
        if (!mask && e->hup) {
                if (e->watched)
                        epoll_ctl(c->eg->epfd, EPOLL_CTL_DEL, fd, NULL);
                e->watched = false;
                e->mask = 0;
                return;
        }
        if (e->watched && e->mask == mask)
                return;
        struct epoll_event ev = { .events = mask, .data.ptr = e };
        if (epoll_ctl(c->eg->epfd, e->watched ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, fd, &ev) < 0) {
                /* Never woken again, it would stay forever: closed instead. */
                c->broken = true;
                return;
        }
        e->watched = true;
        e->mask = mask;
}

/* After the end's descriptor is closed (which takes it out of epoll). */
static void end_forget(struct end *e)
{
        e->watched = e->hup = false;
        e->mask = 0;
}

static void up_close(struct conn *c)
{
        if (c->ufd >= 0)
                close(c->ufd);
        c->ufd = -1;
        c->up_kept = false;
        end_forget(&c->uend);
}

static void pipe_dir_close(struct egress *eg, struct pipe_dir *d)
{
        for (int i = 0; i < 2; i++)
                if (d->p[i] >= 0) {
                        close(d->p[i]);
                        d->p[i] = -1;
                }
        if (d->grown)
                eg->n_grown--;
        d->grown = false;
        d->queued = 0;
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
        c->cfd = -1;
        end_forget(&c->cend);
        up_close(c);
        pipe_dir_close(eg, &c->cu);
        pipe_dir_close(eg, &c->uc);
        buf_drop(&c->in);
        buf_drop(&c->out_c);
        buf_drop(&c->out_u);
        buf_drop(&c->resp);
        free(c->addrs);
        c->addrs = NULL;
        free(c->retry);
        c->retry = NULL;
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
                end_forget(&c->cend);
                return;
        }
        conn_release(c);
}

/* After any handler has run on a connection. */
static void conn_settle(struct conn *c)
{
        if (!c->dead && c->broken)
                conn_close(c);
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

/* What the client end waits for outside FORWARD and TUNNEL (which set
 * their own): its request while one is being read, the way out for what is
 * pending, nothing while its request is being decided or connected. */
static void client_watch(struct conn *c)
{
        uint32_t m = c->out_c.len ? EPOLLOUT : 0;
        if (c->st == CS_DETECT || c->st == CS_HTTP_HEAD || c->st == CS_SOCKS_GREET || c->st == CS_SOCKS_REQ) {
                if (buf_room(&c->in))
                        m |= EPOLLIN;
        } else if (c->st == CS_CLOSING) {
                m = c->lingering ? EPOLLIN : EPOLLOUT;
        } else if (c->st == CS_TUNNEL || c->st == CS_FORWARD) {
                return;
        }
        watch(&c->cend, m);
}

/* Answers the client and closes once the answer is out. */
static void reply_and_close(struct conn *c, const char *bytes, size_t len)
{
        if (buf_put(&c->out_c, bytes, len) < 0) {
                conn_close(c);
                return;
        }
        c->st = CS_CLOSING;
        up_close(c);
        client_watch(c);
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
        if (buf_put(&c->out_c, r, sizeof r) < 0)
                c->broken = true;
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

static void resolve(struct conn *c);
static void start_forward(struct conn *c, bool reused);

/* Decides host:port (as sent) for c and, when allowed, goes on to connect:
 * over the upstream connection kept from the previous request when it was
 * made for the same name and port (its address was checked then), else by
 * resolving the name. */
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
        if (c->up_kept) {
                if (c->proto == P_HTTP && c->port == c->up_port && strcmp(c->host, c->up_host) == 0) {
                        c->up_kept = false;
                        start_forward(c, true);
                        return;
                }
                up_close(c);
        }
        resolve(c);
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

static socklen_t addr_len(const struct sockaddr_storage *a)
{
        return a->ss_family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
}

static struct addr_list *addr_list_dup(const struct addr_list *l)
{
        size_t sz = sizeof *l + l->n * sizeof l->a[0];
        struct addr_list *d = malloc(sz);
        if (d)
                memcpy(d, l, sz);
        return d;
}

/* The IPv4 and IPv6 addresses of a getaddrinfo answer. */
static struct addr_list *addr_list_from(const struct addrinfo *ai)
{
        size_t n = 0;
        for (const struct addrinfo *a = ai; a; a = a->ai_next)
                n += a->ai_family == AF_INET || a->ai_family == AF_INET6;
        struct addr_list *l = calloc(1, sizeof *l + n * sizeof l->a[0]);
        if (!l)
                return NULL;
        for (const struct addrinfo *a = ai; a; a = a->ai_next)
                if (a->ai_family == AF_INET || a->ai_family == AF_INET6)
                        memcpy(&l->a[l->n++], a->ai_addr,
                               a->ai_family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6));
        return l;
}

static const struct addr_list *cache_get(struct egress *eg, const char *host)
{
        double now = mono_s();
        for (size_t i = 0; i < RESOLVE_CACHE; i++) {
                struct cached_name *e = &eg->cache[i];
                if (e->addrs && e->expires > now && strcmp(e->host, host) == 0)
                        return e->addrs;
        }
        return NULL;
}

/* Takes l. Replaces the name's entry, else a free or expired slot, else the
 * one that expires first. */
static void cache_put(struct egress *eg, const char *host, struct addr_list *l)
{
        double now = mono_s();
        struct cached_name *slot = NULL;
        for (size_t i = 0; i < RESOLVE_CACHE; i++) {
                struct cached_name *e = &eg->cache[i];
                if (e->addrs && strcmp(e->host, host) == 0) {
                        slot = e;
                        break;
                }
                if (!slot || (slot->addrs && (!e->addrs || e->expires < slot->expires)))
                        slot = e;
        }
        free(slot->addrs);
        snprintf(slot->host, sizeof slot->host, "%s", host);
        slot->expires = now + RESOLVE_TTL_S;
        slot->addrs = l;
}

static void try_connect(struct conn *c);

static void resolve(struct conn *c)
{
        struct egress *eg = c->eg;
        const struct addr_list *hit = cache_get(eg, c->host);
        c->st = CS_RESOLVE;
        if (hit) {
                free(c->addrs);
                c->addrs = addr_list_dup(hit);
                c->next_addr = 0;
                if (!c->addrs) {
                        http_error(c, 503, "out of memory");
                        return;
                }
                try_connect(c);
                return;
        }
        struct resolve_job *j = calloc(1, sizeof *j);
        if (!j) {
                http_error(c, 503, "out of memory");
                return;
        }
        j->c = c;
        snprintf(j->host, sizeof j->host, "%s", c->host);
        c->resolving = true;
        /* Nothing is read from the client while we resolve. */
        client_watch(c);
        pthread_mutex_lock(&eg->lock);
        j->next = eg->jobs;
        eg->jobs = j;
        pthread_cond_signal(&eg->cond);
        pthread_mutex_unlock(&eg->lock);
}

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
        free(c->addrs);
        c->addrs = addr_list_from(j->result);
        c->next_addr = 0;
        freeaddrinfo(j->result);
        struct addr_list *cached = c->addrs ? addr_list_dup(c->addrs) : NULL;
        if (cached)
                cache_put(eg, c->host, cached);
        if (!c->addrs)
                http_error(c, 503, "out of memory");
        else
                try_connect(c);
        conn_settle(c);
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
        while (c->addrs && c->next_addr < c->addrs->n) {
                struct sockaddr_storage a = c->addrs->a[c->next_addr++];
                struct sockaddr *sa = (struct sockaddr *)&a;
                if (a.ss_family == AF_INET)
                        ((struct sockaddr_in *)sa)->sin_port = htons(c->port);
                else
                        ((struct sockaddr_in6 *)sa)->sin6_port = htons(c->port);
                char ip[INET6_ADDRSTRLEN] = "";
                const void *p = a.ss_family == AF_INET ? (const void *)&((struct sockaddr_in *)sa)->sin_addr
                                                       : (const void *)&((struct sockaddr_in6 *)sa)->sin6_addr;
                inet_ntop(a.ss_family, p, ip, sizeof ip);
                if (!hostmatch_address_ok(eg->cfg.rules, eg->cfg.n_rules, sa, c->port)) {
                        snprintf(why, sizeof why, "resolves to %s (%s), which no address rule allows", ip,
                                 addr_class_name(addr_classify(sa)));
                        last_why = why;
                        continue;
                }
                if (is_local_address(eg, sa) &&
                    hostmatch_name(eg->cfg.rules, eg->cfg.n_rules, ip, c->port, NULL) != MATCH_ALLOW) {
                        snprintf(why, sizeof why, "resolves to %s, an address of this machine, which no address "
                                 "rule allows", ip);
                        last_why = why;
                        continue;
                }
                int fd = socket(a.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
                if (fd < 0)
                        continue;
                if (connect(fd, sa, addr_len(&a)) < 0 && errno != EINPROGRESS) {
                        close(fd);
                        continue;
                }
                c->ufd = fd;
                c->st = CS_CONNECT;
                watch(&c->uend, EPOLLOUT);
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

/* ---- I/O helpers -------------------------------------------------------- */

/* Sends what b holds. Returns the bytes sent (0 when the socket is full) or
 * -1 when the peer is gone. */
static ssize_t flush(int fd, struct buf *b)
{
        size_t sent = 0;
        while (b->len) {
                ssize_t n = send(fd, b->data, b->len, MSG_NOSIGNAL);
                if (n < 0) {
                        if (errno == EAGAIN || errno == EINTR)
                                break;
                        return -1;
                }
                buf_consume(b, (size_t)n);
                sent += (size_t)n;
        }
        return (ssize_t)sent;
}

/* Reads what fits into b. Returns bytes read, 0 on EOF, -1 on error, -2 when
 * nothing is available or b is full. */
static ssize_t fill(int fd, struct buf *b)
{
        if (buf_get(b) < 0)
                return -1;
        if (!buf_room(b))
                return -2;
        ssize_t n = recv(fd, b->data + b->len, buf_room(b), 0);
        if (n < 0)
                return errno == EAGAIN || errno == EINTR ? -2 : -1;
        b->len += (size_t)n;
        return n;
}

/* ---- tunnels ------------------------------------------------------------ */

static void tunnel_io(struct conn *c);

static int pipe_dir_open(struct pipe_dir *d)
{
        if (pipe2(d->p, O_CLOEXEC | O_NONBLOCK) < 0)
                return negerrno();
        int sz = fcntl(d->p[1], F_GETPIPE_SZ);
        d->size = sz > 0 ? (size_t)sz : 65536;
        return 0;
}

/* A pipe that one read half filled carries bulk data: it grows, once, while
 * the budget lasts (the pages of a stalled tunnel's pipes are host memory
 * that no limit of the sandbox counts). */
static void pipe_grow(struct egress *eg, struct pipe_dir *d)
{
        if (d->grown || d->grow_failed || eg->n_grown >= EGRESS_MAX_GROWN_PIPES)
                return;
        int sz = fcntl(d->p[1], F_SETPIPE_SZ, TUNNEL_PIPE_SIZE);
        if (sz < 0) {
                /* Above fs.pipe-max-size, or the user's pipe pages are spent. */
                d->grow_failed = true;
                return;
        }
        d->size = (size_t)sz;
        d->grown = true;
        eg->n_grown++;
}

/* One direction of a tunnel: src -> pipe -> dst, never through user space.
 * The source is read only once the pipe is empty, so an end is passed on
 * (shutdown) after every byte before it. */
static int splice_dir(struct egress *eg, int src, struct pipe_dir *d, int dst, uint64_t *count)
{
        for (int round = 0; round < ROUNDS; round++) {
                if (d->queued) {
                        ssize_t n = splice(d->p[0], NULL, dst, NULL, d->queued, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
                        if (n < 0)
                                return errno == EAGAIN || errno == EINTR ? 0 : -1;
                        d->queued -= (size_t)n;
                        *count += (uint64_t)n;
                        if (d->queued)
                                return 0;
                }
                if (d->eof)
                        return 0;
                ssize_t n = splice(src, NULL, d->p[1], NULL, d->size, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
                if (n == 0) {
                        d->eof = true;
                        shutdown(dst, SHUT_WR);
                        return 0;
                }
                if (n < 0)
                        return errno == EAGAIN || errno == EINTR ? 0 : -1;
                d->queued += (size_t)n;
                if (d->queued >= d->size / 2)
                        pipe_grow(eg, d);
        }
        return 0;
}

static void start_tunnel(struct conn *c)
{
        if (pipe_dir_open(&c->cu) < 0 || pipe_dir_open(&c->uc) < 0) {
                conn_close(c);
                return;
        }
        c->st = CS_TUNNEL;
        if (c->proto == P_CONNECT) {
                static const char ok[] = "HTTP/1.1 200 Connection established\r\n\r\n";
                if (buf_put(&c->out_c, ok, sizeof ok - 1) < 0) {
                        conn_close(c);
                        return;
                }
        } else if (c->proto == P_SOCKS) {
                socks_reply(c, 0, false);
        }
        /* Bytes the client sent after its request head go up first. */
        buf_drop(&c->out_u);
        if (c->in.len) {
                account(c, c->in.len, 0);
                c->out_u = c->in;
                c->in = (struct buf){ 0 };
        }
        tunnel_io(c);
}

static void tunnel_io(struct conn *c)
{
        if (flush(c->cfd, &c->out_c) < 0 || flush(c->ufd, &c->out_u) < 0) {
                conn_close(c);
                return;
        }
        if (c->out_c.len || c->out_u.len) {
                /* The answer to the client, and what it sent after its
                 * request, go before anything spliced. */
                watch(&c->cend, c->out_c.len ? EPOLLOUT : 0);
                watch(&c->uend, c->out_u.len ? EPOLLOUT : 0);
                return;
        }
        /* From here on a tunnel needs no user-space buffer. */
        buf_drop(&c->in);
        buf_drop(&c->out_c);
        buf_drop(&c->out_u);
        buf_drop(&c->resp);
        uint64_t up = 0, down = 0;
        if (splice_dir(c->eg, c->cfd, &c->cu, c->ufd, &up) < 0 ||
            splice_dir(c->eg, c->ufd, &c->uc, c->cfd, &down) < 0) {
                account(c, up, down);
                conn_close(c);
                return;
        }
        account(c, up, down);
        if (c->cu.eof && c->uc.eof && !c->cu.queued && !c->uc.queued) {
                conn_close(c);
                return;
        }
        /* Read only into an empty pipe, write only out of a full one. */
        watch(&c->cend, (c->cu.eof || c->cu.queued ? 0 : EPOLLIN) | (c->uc.queued ? EPOLLOUT : 0));
        watch(&c->uend, (c->uc.eof || c->uc.queued ? 0 : EPOLLIN) | (c->cu.queued ? EPOLLOUT : 0));
}

/* ---- forwarding --------------------------------------------------------- */

static void head_read(struct conn *c);
static void forward_io(struct conn *c);

/* What one request leaves behind, cleared before the next one is read: a
 * body the server did not take (it answered first) must never reach the
 * next request's server, nor anything of a response the next client. */
static void forward_reset(struct conn *c)
{
        buf_drop(&c->out_u);
        buf_drop(&c->resp);
        c->req_left = 0;
        memset(&c->req_chunks, 0, sizeof c->req_chunks);
        memset(&c->res, 0, sizeof c->res);
        c->resp_left = 0;
        memset(&c->resp_chunks, 0, sizeof c->resp_chunks);
        c->req_done = c->up_wr_closed = c->up_eof = false;
        c->resp_started = c->resp_head_done = c->resp_done = false;
        free(c->retry);
        c->retry = NULL;
        c->retry_len = 0;
        c->resend = false;
}

/* reused: c->ufd is the connection kept from the previous request. */
static void start_forward(struct conn *c, bool reused)
{
        forward_reset(c);
        /* Upstream gets the name that was decided on, not the spelling the
         * client used ("allowed%2eTEST." becomes "allowed.test"). */
        snprintf(c->req.host, sizeof c->req.host, "%s", c->host);
        if (buf_get(&c->out_u) < 0) {
                http_error(c, 503, "out of memory");
                return;
        }
        ssize_t n = http_rewrite_request(c->in.data, &c->req, c->req.keep_alive, c->out_u.data, BUF_SIZE);
        if (n < 0) {
                http_error(c, 431, "request head too large to forward");
                return;
        }
        c->out_u.len = (size_t)n;
        account(c, (size_t)n, 0);
        /* Whatever followed the head in the buffer is body or the next
         * request; the body part goes up as forward_io frames it. */
        buf_consume(&c->in, c->req.head_len);
        c->req_left = c->req.chunked ? -1 : c->req.content_length > 0 ? c->req.content_length : 0;
        c->req_done = c->req_left == 0;
        c->client_keep_alive = c->req.keep_alive;
        /* A server may close a kept connection just as a request goes over
         * it (its idle timeout): a request without a body can then go again
         * over a fresh connection, as browsers do. */
        if (reused && c->req_done && (c->retry = malloc((size_t)n))) {
                memcpy(c->retry, c->out_u.data, (size_t)n);
                c->retry_len = (size_t)n;
        }
        c->st = CS_FORWARD;
        forward_io(c);
}

/* The kept connection ended before any of the response came: the request
 * goes again, once, over a connection made and checked like any other. */
static void forward_retry(struct conn *c)
{
        up_close(c);
        buf_drop(&c->out_u);
        if (buf_put(&c->out_u, c->retry, c->retry_len) < 0) {
                conn_close(c);
                return;
        }
        free(c->retry);
        c->retry = NULL;
        c->retry_len = 0;
        c->up_eof = c->up_wr_closed = false;
        c->resend = true;
        resolve(c);
}

static void connected(struct conn *c)
{
        int err = 0;
        socklen_t l = sizeof err;
        getsockopt(c->ufd, SOL_SOCKET, SO_ERROR, &err, &l);
        if (err) {
                up_close(c);
                if (c->proto == P_PUBLISH || c->proto == P_HOST_PORT)
                        conn_close(c); /* nothing listens there: the client sees the connection close */
                else
                        try_connect(c);
                return;
        }
        if (c->proto == P_HTTP && c->resend) {
                c->resend = false;
                c->st = CS_FORWARD;
                forward_io(c);
        } else if (c->proto == P_HTTP) {
                start_forward(c, false);
        } else {
                start_tunnel(c);
        }
}

/* The response is complete: back to reading the next request, or close. */
static void forward_done(struct conn *c)
{
        struct egress *eg = c->eg;
        if (c->decision < eg->n_log) {
                eg->log[c->decision].duration_s = now_s() - c->t0;
                log_decision(eg, c->decision);
                c->decision = SIZE_MAX;
        }
        free(c->addrs);
        c->addrs = NULL;
        /* A body not wholly taken from the client leaves its connection
         * mid-message: only closing it keeps the framing honest. */
        bool keep = c->client_keep_alive && c->req_done && c->res.keep_alive && !c->res.until_close;
        /* The upstream connection is kept for the next request when both
         * ends framed this exchange cleanly and all of it went through. */
        if (keep && c->ufd >= 0 && !c->up_eof && !c->up_wr_closed && !c->out_u.len) {
                snprintf(c->up_host, sizeof c->up_host, "%s", c->host);
                c->up_port = c->port;
                c->up_kept = true;
                /* Idle, it is read only to notice it closing (or talking
                 * out of turn, which also ends it). */
                watch(&c->uend, EPOLLIN);
        } else {
                up_close(c);
        }
        forward_reset(c);
        if (!keep) {
                c->st = CS_CLOSING;
                client_watch(c);
                return;
        }
        c->st = CS_HTTP_HEAD;
        c->t0 = now_s();
        if (!c->in.len)
                buf_drop(&c->in);
        if (!c->out_c.len)
                buf_drop(&c->out_c);
        client_watch(c);
        if (c->in.len && !c->ready) {
                /* A pipelined request is already here: read after this batch
                 * of events, not from here, so that a run of pipelined
                 * requests cannot nest calls without end. */
                c->ready = true;
                c->next_ready = eg->ready;
                eg->ready = c;
        }
}

/* Passes response bytes in c->resp to the client while tracking framing. */
static int pass_response(struct conn *c)
{
        if (c->resp.len && !c->resp_done && buf_get(&c->out_c) < 0)
                return -1;
        while (c->resp.len && !c->resp_done) {
                if (!c->resp_head_done) {
                        enum http_parse_result r = http_parse_response(c->resp.data, c->resp.len,
                                                                       c->req.kind == HTTP_METHOD_HEAD, &c->res);
                        if (r == HTTP_INCOMPLETE)
                                return 0;
                        if (r != HTTP_OK)
                                return -1;
                        size_t h = c->res.head_len;
                        if (buf_room(&c->out_c) < h)
                                return 0;
                        memcpy(c->out_c.data + c->out_c.len, c->resp.data, h);
                        c->out_c.len += h;
                        buf_consume(&c->resp, h);
                        account(c, 0, h);
                        c->resp_started = true;
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
                size_t n = c->resp.len < buf_room(&c->out_c) ? c->resp.len : buf_room(&c->out_c);
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
                buf_consume(&c->resp, n);
                account(c, 0, n);
        }
        return 0;
}

/* Moves request body bytes from c->in to upstream while tracking framing. */
static int pass_request_body(struct conn *c)
{
        if (!c->req_done && c->in.len && buf_get(&c->out_u) < 0)
                return -1;
        while (!c->req_done && c->in.len) {
                size_t n = c->in.len < buf_room(&c->out_u) ? c->in.len : buf_room(&c->out_u);
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
                buf_consume(&c->in, n);
                account(c, n, 0);
        }
        return 0;
}

/* Upstream has ended (closed or reset) and its response has not. Returns
 * true when the client was answered instead. */
static bool forward_cut(struct conn *c)
{
        if (c->resp_done)
                return false;
        if (!c->resp_head_done) {
                /* What is left is a fragment of a head that will never end. */
                if (!c->resp_started) {
                        http_error(c, 502, "the server closed the connection without answering");
                        return true;
                }
                c->resp.len = 0;
                c->client_keep_alive = false;
                c->resp_done = true;
                return false;
        }
        if (c->resp.len)
                return false; /* what came before the end reaches the client first */
        /* A body delimited by the close has ended. Any other is cut short:
         * the client gets what came, then the close, as it would from the
         * server itself. */
        if (!c->res.until_close)
                c->client_keep_alive = false;
        c->resp_done = true;
        return false;
}

static void forward_io(struct conn *c)
{
        /* Rounds until nothing moves: emptying one buffer makes room in
         * another, for which no event would come. */
        for (int round = 0; round < ROUNDS; round++) {
                bool moved = false;
                /* Request body up. Bytes after the body stay in c->in: the
                 * next request, decided on its own once this one is done. */
                if (!c->req_done && !c->up_wr_closed) {
                        ssize_t r = fill(c->cfd, &c->in);
                        if (r == 0 || r == -1) {
                                /* The client left in the middle of its body. */
                                conn_close(c);
                                return;
                        }
                        moved |= r > 0;
                }
                if (!c->up_wr_closed) {
                        size_t before = c->in.len;
                        if (pass_request_body(c) < 0) {
                                conn_close(c);
                                return;
                        }
                        ssize_t sent = flush(c->ufd, &c->out_u);
                        if (sent < 0) {
                                /* The server takes no more: the rest of the body is
                                 * dropped, its answer (if any) is still read. */
                                c->up_wr_closed = true;
                                buf_drop(&c->out_u);
                        }
                        moved |= sent != 0 || c->in.len != before;
                }
                /* Response down. */
                if (!c->up_eof) {
                        ssize_t r = fill(c->ufd, &c->resp);
                        if ((r == 0 || r == -1) && c->retry && !c->resp_started && !c->resp.len) {
                                forward_retry(c);
                                return;
                        }
                        if (r > 0 && c->retry) {
                                free(c->retry);
                                c->retry = NULL;
                        }
                        if (r == 0 || r == -1) {
                                c->up_eof = c->up_wr_closed = true;
                                buf_drop(&c->out_u);
                                up_close(c);
                        }
                        moved |= r != -2;
                }
                size_t before = c->resp.len;
                if (pass_response(c) < 0) {
                        if (c->resp_started)
                                conn_close(c);
                        else
                                http_error(c, 502, "the server sent a malformed response");
                        return;
                }
                moved |= c->resp.len != before;
                if (c->up_eof && forward_cut(c))
                        return;
                if (c->resp_done && c->resp.len) {
                        /* Bytes past the end of the response: never forwarded as if
                         * they answered the client's next request. */
                        c->resp.len = 0;
                        c->res.keep_alive = false;
                }
                ssize_t sent = flush(c->cfd, &c->out_c);
                if (sent < 0) {
                        conn_close(c);
                        return;
                }
                moved |= sent > 0;
                /* Done when the response is, and either the body is all up or
                 * the server will take no more of it. */
                if (c->resp_done && (c->req_done || c->up_wr_closed)) {
                        forward_done(c);
                        return;
                }
                if (!moved)
                        break;
        }
        /* Read only where there is room, write only what is pending (or,
         * after the last round, waiting to be framed): no wake-up finds
         * nothing to do. */
        bool body_waiting = !c->req_done && !c->up_wr_closed && c->in.len;
        bool resp_waiting = c->resp_head_done && !c->resp_done && c->resp.len;
        watch(&c->cend, (!c->req_done && !c->up_wr_closed && buf_room(&c->in) ? EPOLLIN : 0) |
                        (c->out_c.len || resp_waiting ? EPOLLOUT : 0));
        watch(&c->uend, (!c->up_eof && buf_room(&c->resp) ? EPOLLIN : 0) |
                        (!c->up_wr_closed && (c->out_u.len || body_waiting) ? EPOLLOUT : 0));
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
                buf_consume(&c->in, c->req.head_len);
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
                buf_consume(&c->in, (size_t)n);
                static const char yes[2] = { 5, 0 };
                if (buf_put(&c->out_c, yes, 2) < 0) {
                        conn_close(c);
                        return;
                }
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
        buf_consume(&c->in, sr.len);
        decide(c, sr.host, sr.port);
}

/* The last answer goes out, then the connection closes in two steps (RFC
 * 9112 §9.6): closing at once while the client is still sending (a
 * pipelined request, the rest of a body) would reset the connection and
 * could destroy the answer before the client read it. So our side is shut
 * first, and what the client still sends is dropped until it closes. A
 * client that never does holds its connection like an idle one, within
 * EGRESS_MAX_CONNS. */
static void closing_io(struct conn *c)
{
        if (!c->lingering) {
                if (flush(c->cfd, &c->out_c) < 0) {
                        conn_close(c);
                        return;
                }
                if (c->out_c.len) {
                        client_watch(c);
                        return;
                }
                /* The decision ends here, not when the client gets round to
                 * closing. */
                if (c->decision != SIZE_MAX && c->decision < c->eg->n_log) {
                        c->eg->log[c->decision].duration_s = now_s() - c->t0;
                        log_decision(c->eg, c->decision);
                        c->decision = SIZE_MAX;
                }
                buf_drop(&c->in);
                buf_drop(&c->out_c);
                shutdown(c->cfd, SHUT_WR);
                c->lingering = true;
        }
        char sink[4096];
        for (int round = 0; round < ROUNDS; round++) {
                ssize_t n = recv(c->cfd, sink, sizeof sink, 0);
                if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
                        conn_close(c);
                        return;
                }
                if (n < 0)
                        break;
        }
        client_watch(c);
}

static void client_io(struct conn *c, uint32_t events)
{
        if (c->st == CS_TUNNEL) {
                tunnel_io(c);
                return;
        }
        if (c->st == CS_FORWARD) {
                forward_io(c);
                return;
        }
        if (c->st == CS_CLOSING) {
                closing_io(c);
                return;
        }
        if (events & EPOLLOUT) {
                if (flush(c->cfd, &c->out_c) < 0) {
                        conn_close(c);
                        return;
                }
        }
        /* While a request is decided or connected nothing is read from the
         * client: what it sends meanwhile waits in the socket. */
        bool reading = c->st == CS_DETECT || c->st == CS_HTTP_HEAD || c->st == CS_SOCKS_GREET ||
                       c->st == CS_SOCKS_REQ;
        if (reading && (events & (EPOLLIN | EPOLLHUP | EPOLLERR))) {
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
                if (c->st == CS_HTTP_HEAD && !c->dead && c->in.len == BUF_SIZE)
                        http_error(c, 431, "request head too large");
        }
        if (!c->dead)
                client_watch(c);
}

static void upstream_io(struct conn *c, uint32_t events)
{
        if (c->up_kept) {
                /* A kept connection between requests: it closed, or sent
                 * what nobody asked for. Either way it is not used again. */
                up_close(c);
                return;
        }
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

/* After a handler, for the end whose event it was. An end that hung up and
 * from which nothing is wanted is not left to report it forever: a client
 * that reset has nobody left to answer, so its connection closes; any
 * other such end leaves epoll until something is wanted from it. */
static void settle(struct conn *c, struct end *e, uint32_t events, int fd)
{
        if (c->dead)
                return;
        if (c->broken) {
                conn_close(c);
                return;
        }
        if (!(events & (EPOLLHUP | EPOLLERR)) || end_fd(e) != fd || fd < 0)
                return;
        if (e->watched && (e->mask & (EPOLLIN | EPOLLOUT)))
                return; /* the next read or write meets the end */
        if (!e->upstream && (events & EPOLLERR)) {
                conn_close(c);
                return;
        }
        watch(e, 0);
}

static struct conn *conn_new(struct egress *eg, int fd)
{
        struct conn *c = calloc(1, sizeof *c);
        if (!c)
                return NULL;
        c->eg = eg;
        c->cfd = fd;
        c->ufd = -1;
        c->cu.p[0] = c->cu.p[1] = c->uc.p[0] = c->uc.p[1] = -1;
        c->cend = (struct end){ .c = c, .upstream = false };
        c->uend = (struct end){ .c = c, .upstream = true };
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
        c->st = CS_CONNECT;
        /* Registered with no events: a client that resets while its other
         * end is made is still noticed. */
        watch(&c->cend, 0);
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
                watch(&c->uend, EPOLLOUT);
                return;
        }
        /* Published: ask init for a socket connecting inside. */
        c->proto = P_PUBLISH;
        c->port = l->port;
        c->decision = record(eg, c, "publish", "127.0.0.1", l->port, true, "published with -p");
        struct forward_request req = { .port = l->port };
        if (eg->init_gone || eg->cfg.init_sock < 0 ||
            send(eg->cfg.init_sock, &req, sizeof req, MSG_NOSIGNAL) != sizeof req) {
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
}

/* init's answer to the oldest waiting published connection. Returns false
 * once init's socket has hung up (it would report that forever). */
static bool init_answered(struct egress *eg)
{
        struct forward_request ans;
        int fd;
        ssize_t n = fdpass_recv(eg->cfg.init_sock, &ans, sizeof ans, &fd, MSG_DONTWAIT);
        if (n == -EAGAIN)
                return true;
        if (n <= 0)
                return false;
        if (!eg->n_waiting || (size_t)n < sizeof ans) {
                if (fd >= 0)
                        close(fd);
                return true;
        }
        struct conn *c = eg->waiting[0];
        memmove(eg->waiting, eg->waiting + 1, (eg->n_waiting - 1) * sizeof *eg->waiting);
        eg->n_waiting--;
        if (!c || c->dead || ans.err || fd < 0) {
                if (fd >= 0)
                        close(fd);
                if (c)
                        conn_close(c);
                return true;
        }
        c->ufd = fd;
        watch(&c->uend, EPOLLOUT);
        conn_settle(c);
        return true;
}

/* init is gone (the sandbox ended): nothing will answer the published
 * connections still waiting. */
static void init_lost(struct egress *eg)
{
        epoll_ctl(eg->epfd, EPOLL_CTL_DEL, eg->cfg.init_sock, NULL);
        eg->init_gone = true;
        while (eg->n_waiting) {
                struct conn *c = eg->waiting[--eg->n_waiting];
                if (c)
                        conn_close(c);
        }
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

/* Past EGRESS_MAX_CONNS a new connection is closed at once: each one holds
 * host memory that no limit of the sandbox counts. Recorded as a refusal,
 * so that --log, the result and the summary say why. */
static void refuse_over_cap(struct egress *eg, const struct listener *l)
{
        char why[64];
        snprintf(why, sizeof why, "too many connections (%d open)", EGRESS_MAX_CONNS);
        const char *proto = l->proxy ? "proxy" : l->kind == FWD_PUBLISH ? "publish" : "host";
        size_t i = record(eg, NULL, proto, "127.0.0.1", l->proxy ? EGRESS_PORT : l->port, false, why);
        log_decision(eg, i);
}

static void accept_clients(struct egress *eg, struct listener *l)
{
        for (int i = 0; i < ACCEPTS; i++) {
                int fd = accept4(l->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
                if (fd < 0) {
                        if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
                                listeners_pause(eg, true);
                        return;
                }
                if (eg->n_conns >= EGRESS_MAX_CONNS) {
                        refuse_over_cap(eg, l);
                        close(fd);
                        continue;
                }
                struct conn *c = conn_new(eg, fd);
                if (!c) {
                        close(fd);
                        continue;
                }
                if (!l->proxy)
                        forward_accepted(eg, c, l);
                else
                        watch(&c->cend, EPOLLIN);
                conn_settle(c);
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
                                if (!eg->init_gone && !init_answered(eg))
                                        init_lost(eg);
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
                        struct conn *c = e->c;
                        if (c->dead)
                                continue;
                        uint32_t events = evs[i].events;
                        int fd = end_fd(e);
                        if (events & (EPOLLHUP | EPOLLERR))
                                e->hup = true;
                        if (e->upstream)
                                upstream_io(c, events);
                        else
                                client_io(c, events);
                        settle(c, e, events, fd);
                }
                while (eg->ready) {
                        struct conn *c = eg->ready;
                        eg->ready = c->next_ready;
                        c->ready = false;
                        if (c->dead || c->st != CS_HTTP_HEAD)
                                continue;
                        head_read(c);
                        if (!c->dead)
                                client_watch(c);
                        conn_settle(c);
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
        eg->ready = NULL;
        while (eg->conns) {
                eg->conns->resolving = false;
                eg->conns->dead = false;
                conn_release(eg->conns);
        }
        bury(eg);
}

void egress_dropped(const struct egress *eg, uint64_t *ret_allowed, uint64_t *ret_refused)
{
        *ret_allowed = eg ? eg->dropped_allowed : 0;
        *ret_refused = eg ? eg->dropped_refused : 0;
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
        for (size_t i = 0; i < RESOLVE_CACHE; i++)
                free(eg->cache[i].addrs);
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
        size_t refused = (size_t)eg->dropped_refused;
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
