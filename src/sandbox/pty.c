/* SPDX-License-Identifier: MIT */
#include "sandbox/pty.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util/macro.h"

/* Per direction. Large enough that a paste into a command that reads keeps
 * flowing, small enough that a command that never reads costs little. */
#define PTY_QUEUE_SIZE (64 * 1024)
/* With no slave open, poll reports POLLHUP at once, for ever: look again
 * this often instead of spinning (something in the sandbox may reopen it). */
#define HUP_RETRY_MS 100
/* At exit, the user's terminal gets this long without taking anything. */
#define DRAIN_IDLE_MS 1000

static double now_ms(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static size_t q_room(const struct pty_queue *q)
{
        return q->cap - q->len;
}

/* Where the next bytes go: all the free space, contiguous. */
static char *q_tail(struct pty_queue *q, size_t *ret_room)
{
        if (q->head > 0 && q->head + q->len == q->cap) {
                memmove(q->buf, q->buf + q->head, q->len);
                q->head = 0;
        }
        *ret_room = q->cap - q->head - q->len;
        return q->buf + q->head + q->len;
}

static void q_push(struct pty_queue *q, const char *p, size_t n)
{
        size_t room;
        char *t = q_tail(q, &room);
        if (room < n) {
                memmove(q->buf, q->buf + q->head, q->len);
                q->head = 0;
                t = q->buf + q->len;
        }
        memcpy(t, p, n); /* callers never push more than q_room() */
        q->len += n;
}

static void q_pop(struct pty_queue *q, size_t n)
{
        q->head += n;
        q->len -= n;
        if (q->len == 0)
                q->head = 0;
}

static void q_clear(struct pty_queue *q)
{
        q->head = q->len = 0;
}

/* A second open file description of the user's terminal, non-blocking. The
 * one we were given is shared with the user's shell and whatever else runs
 * on that terminal: setting O_NONBLOCK on it would leak into them (and stay
 * set if we were killed). Returns -1 when the terminal cannot be reopened
 * (not ours, TIOCEXCL): the caller then keeps the descriptor it has. */
static int reopen_nonblock(int fd, int flags)
{
        char path[64];
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
        int nfd = open(path, flags | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
        if (nfd < 0)
                return -1;
        struct stat a, b;
        if (fstat(fd, &a) < 0 || fstat(nfd, &b) < 0 || !S_ISCHR(b.st_mode) || a.st_rdev != b.st_rdev ||
            !isatty(nfd)) {
                close(nfd);
                return -1;
        }
        return nfd;
}

static void relay_release(struct pty_relay *r)
{
        free(r->to_sandbox.buf);
        free(r->to_user.buf);
        r->to_sandbox = r->to_user = (struct pty_queue){ 0 };
        if (r->rd >= 0 && r->rd != r->in)
                close(r->rd);
        if (r->wr >= 0 && r->wr != r->out)
                close(r->wr);
        r->rd = r->in;
        r->wr = r->out;
}

int pty_relay_start(struct pty_relay *r, int master, int in, int out)
{
        *r = (struct pty_relay){ .master = master, .in = in, .out = out, .rd = in, .wr = out };
        if (tcgetattr(in, &r->saved) < 0)
                return negerrno();
        r->to_sandbox = (struct pty_queue){ .buf = malloc(PTY_QUEUE_SIZE), .cap = PTY_QUEUE_SIZE };
        r->to_user = (struct pty_queue){ .buf = malloc(PTY_QUEUE_SIZE), .cap = PTY_QUEUE_SIZE };
        if (!r->to_sandbox.buf || !r->to_user.buf) {
                relay_release(r);
                return -ENOMEM;
        }
        /* The sandbox's terminal starts with the user's modes and size, so
         * erase keys, flow control and the first screen all match. */
        (void)tcsetattr(master, TCSANOW, &r->saved);
        pty_relay_winsize(r);
        int fl = fcntl(master, F_GETFL);
        if (fl < 0 || fcntl(master, F_SETFL, fl | O_NONBLOCK) < 0) {
                int err = negerrno();
                relay_release(r);
                return err;
        }
        int fd = reopen_nonblock(in, O_RDONLY);
        if (fd >= 0)
                r->rd = fd;
        fd = reopen_nonblock(out, O_WRONLY);
        if (fd >= 0)
                r->wr = fd;
        int ret = pty_relay_resume(r);
        if (ret < 0)
                relay_release(r);
        return ret;
}

/* TCSANOW, not TCSADRAIN: draining waits for the terminal to take our
 * output, which a stalled terminal never does; and the output already
 * written was processed with the modes of its time anyway. */
int pty_relay_resume(struct pty_relay *r)
{
        struct termios raw = r->saved;
        cfmakeraw(&raw);
        raw.c_cc[VMIN] = 1;
        raw.c_cc[VTIME] = 0;
        if (tcsetattr(r->in, TCSANOW, &raw) < 0)
                return negerrno();
        r->raw = true;
        pty_relay_winsize(r);
        return 0;
}

void pty_relay_restore(struct pty_relay *r)
{
        if (r->raw) {
                (void)tcsetattr(r->in, TCSANOW, &r->saved);
                r->raw = false;
        }
}

void pty_relay_winsize(struct pty_relay *r)
{
        struct winsize ws;
        if (ioctl(r->out, TIOCGWINSZ, &ws) == 0 || ioctl(r->in, TIOCGWINSZ, &ws) == 0)
                (void)ioctl(r->master, TIOCSWINSZ, &ws);
}

static void master_hung_up(struct pty_relay *r)
{
        r->master_hup = true;
        r->master_retry_ms = now_ms() + HUP_RETRY_MS;
}

static void flush_to_sandbox(struct pty_relay *r)
{
        struct pty_queue *q = &r->to_sandbox;
        while (q->len) {
                ssize_t n = write(r->master, q->buf + q->head, q->len);
                if (n > 0) {
                        q_pop(q, (size_t)n);
                        continue;
                }
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0 && errno != EAGAIN)
                        q_clear(q); /* the pty is gone: nobody to type to */
                return;
        }
}

static void flush_to_user(struct pty_relay *r)
{
        struct pty_queue *q = &r->to_user;
        while (q->len && !r->out_dead) {
                ssize_t n = write(r->wr, q->buf + q->head, q->len);
                if (n > 0) {
                        q_pop(q, (size_t)n);
                        continue;
                }
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0 && errno != EAGAIN) {
                        /* The user's terminal is gone (hung up, revoked):
                         * drop the output rather than stall the command; its
                         * SIGHUP is on the way. */
                        r->out_dead = true;
                        q_clear(q);
                }
                return;
        }
}

/* The signal a byte stands for on the sandbox's terminal, or 0. */
static int signal_char(const struct termios *t, unsigned char c)
{
        if (c == _POSIX_VDISABLE)
                return 0;
        if (c == t->c_cc[VINTR])
                return SIGINT;
        if (c == t->c_cc[VQUIT])
                return SIGQUIT;
        if (c == t->c_cc[VSUSP])
                return SIGTSTP;
        return 0;
}

/* Queues the user's bytes for the sandbox. A signal character (Ctrl-C,
 * Ctrl-\, Ctrl-Z, with ISIG on the sandbox's terminal) normally goes in
 * order, through the sandbox's line discipline. But when input the sandbox
 * has not taken yet stands before it, the character could wait for ever (a
 * command that does not read is just what the user interrupts): then it is
 * delivered as the line discipline would, at once — the signal to the
 * terminal's foreground group (TIOCSIG) and the pending input dropped
 * (unless NOFLSH). */
static void feed_sandbox(struct pty_relay *r, const char *buf, size_t n)
{
        struct termios t;
        bool isig = tcgetattr(r->master, &t) == 0 && (t.c_lflag & ISIG);
        size_t start = 0;
        for (size_t i = 0; isig && i < n; i++) {
                int sig = signal_char(&t, (unsigned char)buf[i]);
                if (!sig)
                        continue;
                q_push(&r->to_sandbox, buf + start, i - start);
                flush_to_sandbox(r);
                start = i + 1;
                if (r->to_sandbox.len == 0 || ioctl(r->master, TIOCSIG, sig) < 0) {
                        q_push(&r->to_sandbox, buf + i, 1);
                        flush_to_sandbox(r);
                } else if (!(t.c_lflag & NOFLSH))
                        q_clear(&r->to_sandbox);
        }
        q_push(&r->to_sandbox, buf + start, n - start);
        flush_to_sandbox(r);
}

static void from_user(struct pty_relay *r)
{
        char buf[4096];
        size_t room = q_room(&r->to_sandbox);
        if (!room || !r->raw || r->in_eof)
                return;
        ssize_t n = read(r->rd, buf, room < sizeof buf ? room : sizeof buf);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
                return;
        if (n <= 0) {
                /* The user's input ended: pass an end-of-file on (VEOF at the
                 * start of a line, as a terminal would). */
                r->in_eof = true;
                char eof = (char)r->saved.c_cc[VEOF];
                if ((unsigned char)eof != _POSIX_VDISABLE)
                        q_push(&r->to_sandbox, &eof, 1);
                flush_to_sandbox(r);
                return;
        }
        feed_sandbox(r, buf, (size_t)n);
}

/* Reads the master into the queue towards the user (or into nothing, when
 * the user's terminal is gone). Returns the bytes read, 0 when there is no
 * room or nothing to read now, -EIO when no slave is open any more. */
static ssize_t read_master(struct pty_relay *r)
{
        char scratch[4096];
        char *dst = scratch;
        size_t room = sizeof scratch;
        if (!r->out_dead)
                dst = q_tail(&r->to_user, &room);
        if (!room)
                return 0;
        ssize_t n = RETRY_EINTR(read(r->master, dst, room));
        if (n < 0 && errno == EAGAIN)
                return 0;
        if (n <= 0)
                return -EIO;
        if (!r->out_dead)
                r->to_user.len += (size_t)n;
        return n;
}

int pty_relay_poll(struct pty_relay *r, struct pollfd *fds)
{
        int timeout = -1;
        short ev = 0;
        if (r->out_dead || q_room(&r->to_user))
                ev |= POLLIN;
        if (r->to_sandbox.len)
                ev |= POLLOUT;
        if (r->master_hup) {
                double left = r->master_retry_ms - now_ms();
                if (left > 0) {
                        ev = 0;
                        timeout = (int)left + 1;
                } else
                        r->master_hup = false;
        }
        fds[PTY_POLL_MASTER] = (struct pollfd){ .fd = ev ? r->master : -1, .events = ev };
        fds[PTY_POLL_IN] = (struct pollfd){ .fd = r->raw && !r->in_eof && q_room(&r->to_sandbox) ? r->rd : -1,
                                            .events = POLLIN };
        fds[PTY_POLL_OUT] = (struct pollfd){ .fd = r->to_user.len && !r->out_dead ? r->wr : -1,
                                             .events = POLLOUT };
        return timeout;
}

void pty_relay_dispatch(struct pty_relay *r, const struct pollfd *fds)
{
        short m = fds[PTY_POLL_MASTER].revents;
        if (m & POLLOUT)
                flush_to_sandbox(r);
        if (m & POLLIN) {
                if (read_master(r) < 0)
                        master_hung_up(r);
                flush_to_user(r);
        } else if (m & (POLLHUP | POLLERR))
                master_hung_up(r);
        if (fds[PTY_POLL_IN].revents & (POLLIN | POLLHUP | POLLERR))
                from_user(r);
        if (fds[PTY_POLL_OUT].revents & (POLLOUT | POLLHUP | POLLERR))
                flush_to_user(r);
}

void pty_relay_drain(struct pty_relay *r)
{
        double last = now_ms();
        bool master_done = false;
        for (;;) {
                bool moved = false;
                while (!master_done) {
                        ssize_t n = read_master(r);
                        if (n < 0 || (n == 0 && (r->out_dead || q_room(&r->to_user))))
                                master_done = true; /* the sandbox is gone: nothing more comes */
                        if (n <= 0)
                                break;
                        moved = true;
                }
                size_t pending = r->to_user.len;
                flush_to_user(r);
                if (r->to_user.len < pending)
                        moved = true;
                if (master_done && r->to_user.len == 0)
                        return;
                if (moved)
                        last = now_ms();
                else if (now_ms() - last > DRAIN_IDLE_MS)
                        return;
                struct pollfd p = { .fd = r->wr, .events = POLLOUT };
                (void)poll(&p, 1, 100);
        }
}

void pty_relay_free(struct pty_relay *r)
{
        /* Also on the error paths that never reach the loop's end: the
         * user's terminal must not stay raw. */
        pty_relay_restore(r);
        relay_release(r);
        if (r->master >= 0)
                close(r->master);
        r->master = -1;
}
