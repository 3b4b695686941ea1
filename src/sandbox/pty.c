/* SPDX-License-Identifier: MIT */
#include "sandbox/pty.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "util/macro.h"

int pty_relay_start(struct pty_relay *r, int master, int in, int out)
{
        memset(r, 0, sizeof *r);
        r->master = master;
        r->in = in;
        r->out = out;
        if (tcgetattr(in, &r->saved) < 0)
                return negerrno();
        /* The sandbox's terminal starts with the user's modes and size, so
         * erase keys, flow control and the first screen all match. */
        (void)tcsetattr(master, TCSANOW, &r->saved);
        pty_relay_winsize(r);
        fcntl(master, F_SETFL, fcntl(master, F_GETFL) | O_NONBLOCK);
        return pty_relay_resume(r);
}

int pty_relay_resume(struct pty_relay *r)
{
        struct termios raw = r->saved;
        cfmakeraw(&raw);
        raw.c_cc[VMIN] = 1;
        raw.c_cc[VTIME] = 0;
        if (tcsetattr(r->in, TCSADRAIN, &raw) < 0)
                return negerrno();
        r->raw = true;
        pty_relay_winsize(r);
        return 0;
}

void pty_relay_restore(struct pty_relay *r)
{
        if (r->raw) {
                (void)tcsetattr(r->in, TCSADRAIN, &r->saved);
                r->raw = false;
        }
}

void pty_relay_winsize(struct pty_relay *r)
{
        struct winsize ws;
        if (ioctl(r->out, TIOCGWINSZ, &ws) == 0 || ioctl(r->in, TIOCGWINSZ, &ws) == 0)
                (void)ioctl(r->master, TIOCSWINSZ, &ws);
}

static int write_all(int fd, const char *buf, size_t len)
{
        while (len > 0) {
                ssize_t n = write(fd, buf, len);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno == EAGAIN) {
                                struct pollfd p = { .fd = fd, .events = POLLOUT };
                                (void)poll(&p, 1, 1000);
                                continue;
                        }
                        return negerrno();
                }
                buf += n;
                len -= (size_t)n;
        }
        return 0;
}

int pty_relay_from_user(struct pty_relay *r)
{
        char buf[4096];
        ssize_t n = read(r->in, buf, sizeof buf);
        if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN)) {
                /* The user's input ended: pass an end-of-file on (VEOF at the
                 * start of a line, as a terminal would). */
                r->in_eof = true;
                char eof = (char)r->saved.c_cc[VEOF];
                (void)write_all(r->master, &eof, 1);
                return 0;
        }
        if (n < 0)
                return 0;
        return write_all(r->master, buf, (size_t)n);
}

int pty_relay_from_sandbox(struct pty_relay *r)
{
        char buf[16384];
        ssize_t n = read(r->master, buf, sizeof buf);
        if (n < 0) {
                if (errno == EAGAIN || errno == EINTR)
                        return 0;
                return -EIO;
        }
        if (n == 0)
                return -EIO;
        return write_all(r->out, buf, (size_t)n);
}

void pty_relay_drain(struct pty_relay *r)
{
        char buf[16384];
        ssize_t n;
        while ((n = read(r->master, buf, sizeof buf)) > 0)
                if (write_all(r->out, buf, (size_t)n) < 0)
                        break;
}
