/* SPDX-License-Identifier: MIT */
#include "sandbox/init.h"

#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "net/egress.h"
#include "sandbox/cgroup.h"
#include "sandbox/exec.h"
#include "sandbox/proto.h"
#include "sandbox/rootfs.h"
#include "util/fdpass.h"
#include "util/log.h"

static int write_file(const char *path, const char *s)
{
        _cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);
        if (fd < 0)
                return negerrno();
        size_t n = strlen(s);
        return write(fd, s, n) == (ssize_t)n ? 0 : negerrno();
}

/* The user's ids map to themselves: files written in the project are owned
 * by the user on the host, and nothing else of the host's id space exists
 * inside. setgroups is denied first, as the kernel requires of an
 * unprivileged writer (and so a process cannot drop a group to get past a
 * "deny this group" permission). */
static void setup_idmap(const struct policy *p, int ctl)
{
        char map[64];
        int r;
        if ((r = write_file("/proc/self/setgroups", "deny")) < 0 && r != -ENOENT)
                exec_fail(ctl, 125, -r, "writing setgroups: %s", strerror(-r));
        snprintf(map, sizeof map, "%u %u 1\n", (unsigned)p->uid, (unsigned)p->uid);
        if ((r = write_file("/proc/self/uid_map", map)) < 0)
                exec_fail(ctl, 125, -r, "setting up the uid map: %s (run 'moat doctor')", strerror(-r));
        snprintf(map, sizeof map, "%u %u 1\n", (unsigned)p->gid, (unsigned)p->gid);
        if ((r = write_file("/proc/self/gid_map", map)) < 0)
                exec_fail(ctl, 125, -r, "setting up the gid map: %s (run 'moat doctor')", strerror(-r));
}

static void loopback_up(int ctl)
{
        _cleanup_close_ int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        struct ifreq ifr = { 0 };
        strcpy(ifr.ifr_name, "lo");
        if (s < 0 || ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
                exec_fail(ctl, 125, errno, "loopback: %s", strerror(errno));
        ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
        if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0)
                exec_fail(ctl, 125, errno, "bringing up loopback: %s", strerror(errno));
}

/* The egress proxy's listener is made here, inside the sandbox's network
 * namespace, and handed to the supervisor: an unprivileged supervisor cannot
 * enter this namespace, but a socket keeps the namespace it was made in. */
static void send_listener(int ctl, uint16_t port, int tag)
{
        _cleanup_close_ int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port),
                                 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof a) < 0 || listen(s, 1024) < 0)
                exec_fail(ctl, 125, errno, "listening on 127.0.0.1:%u inside the sandbox: %s", port, strerror(errno));
        struct msg m = { .type = MSG_LISTENER, .status = tag };
        if (msg_send(ctl, &m, s) < 0)
                _exit(125);
        log_step("listening at 127.0.0.1:%u inside the sandbox (%s)", port, tag ? "--host-port" : "egress proxy");
}

/* -p: a connection to 127.0.0.1:port inside, made here and handed out.
 * Non-blocking: the supervisor's loop waits for it to complete. */
static void answer_forward(int sock)
{
        struct forward_request req;
        ssize_t n = recv(sock, &req, sizeof req, MSG_DONTWAIT);
        if (n != sizeof req)
                return;
        struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)req.port),
                                 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        _cleanup_close_ int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        req.err = 0;
        if (s < 0 || (connect(s, (struct sockaddr *)&a, sizeof a) < 0 && errno != EINPROGRESS))
                req.err = errno ? errno : EIO;
        (void)fdpass_send(sock, &req, sizeof req, req.err ? -1 : s);
}

static int open_pty(int ctl, int *ret_slave)
{
        int master = open("/dev/pts/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
        if (master < 0)
                exec_fail(ctl, 125, errno, "opening the sandbox's pty: %s", strerror(errno));
        int unlock = 0;
        if (ioctl(master, TIOCSPTLCK, &unlock) < 0)
                exec_fail(ctl, 125, errno, "unlocking the pty: %s", strerror(errno));
        /* TIOCGPTPEER opens the slave through the master, never by a path
         * someone could swap. */
        int slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
        if (slave < 0)
                exec_fail(ctl, 125, errno, "opening the pty slave: %s", strerror(errno));
        *ret_slave = slave;
        return master;
}

void init_main(const struct init_args *a)
{
        const struct policy *p = a->policy;
        int ctl = a->ctl;
        bool use_pty = a->use_pty, landlock = a->landlock;
        /* Die with the supervisor. If it died before this line, its end of
         * the control socket is already closed: check once. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        struct pollfd pf = { .fd = ctl, .events = 0 };
        if (poll(&pf, 1, 0) > 0 && (pf.revents & (POLLHUP | POLLERR)))
                _exit(125);
        prctl(PR_SET_NAME, "moat-init");

        /* Join the cgroup first, while still holding the host's view. The
         * fds were opened by the supervisor, whose credentials the kernel
         * checks. Everything init forks from here on is born inside. */
        if (cgroup_attach_self(a->cgroup_fds) < 0)
                exec_fail(ctl, 125, errno, "joining the sandbox's cgroup: %s", strerror(errno));
        for (int i = 0; i < 2; i++)
                if (a->cgroup_fds[i] >= 0)
                        close(a->cgroup_fds[i]);
        setup_idmap(p, ctl);
        log_step("uid %u and gid %u mapped to themselves", (unsigned)p->uid, (unsigned)p->gid);

        struct moat_error e = { 0 };
        struct rootfs rf;
        if (rootfs_prepare(p, &rf, &e) < 0 || rootfs_build(p, &rf, &e) < 0)
                exec_fail(ctl, 125, 0, "%s", e.msg);
        rootfs_done(&rf);

        if (sethostname(p->hostname, strlen(p->hostname)) < 0)
                exec_fail(ctl, 125, errno, "sethostname: %s", strerror(errno));
        if (p->net != NET_HOST) {
                loopback_up(ctl);
                log_step("network: loopback only");
        }
        if (p->net == NET_PROXY)
                send_listener(ctl, EGRESS_PORT, 0);
        for (size_t i = 0; i < p->n_host_ports; i++)
                send_listener(ctl, p->host_ports[i], p->host_ports[i]);

        int slave = -1;
        if (use_pty) {
                _cleanup_close_ int master = open_pty(ctl, &slave);
                /* init leads the session that owns the sandbox's pty and the
                 * command gets its own process group in it. A process group
                 * whose parent is in another session is orphaned, and the
                 * kernel discards Ctrl-Z for orphans: this is what makes job
                 * control work for a command run directly. */
                if (setsid() < 0 || ioctl(slave, TIOCSCTTY, 0) < 0)
                        exec_fail(ctl, 125, errno, "taking the sandbox's pty: %s", strerror(errno));
                struct msg m = { .type = MSG_PTY };
                if (msg_send(ctl, &m, master) < 0)
                        _exit(125);
        }
        /* Wait for the supervisor: it sizes the pty and joins the cgroup
         * before the command may start. */
        struct msg go;
        if (msg_recv(ctl, &go, NULL) <= 0 || go.type != MSG_GO)
                _exit(125);

        /* Only SIGCHLD is watched. Signals for the command come from the
         * supervisor as MSG_SIGNAL; any other signal sent to init is
         * ignored by the kernel (a namespace's init has no default
         * actions), so nothing inside can stop or kill it. */
        sigset_t mask, old;
        sigemptyset(&mask);
        sigaddset(&mask, SIGCHLD);
        sigprocmask(SIG_BLOCK, &mask, &old);
        _cleanup_close_ int sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
        if (sfd < 0)
                exec_fail(ctl, 125, errno, "signalfd: %s", strerror(errno));

        struct landlock_rule rules[64];
        size_t n_rules = exec_rules_for_policy(p, rules, ARRAY_SIZE(rules));
        pid_t child = fork();
        if (child < 0)
                exec_fail(ctl, 125, errno, "fork: %s", strerror(errno));
        if (child == 0) {
                sigprocmask(SIG_SETMASK, &old, NULL);
                close(sfd);
                struct exec_plan x = { .policy = p, .ctl = ctl, .pty_slave = slave, .pty_in_session = true,
                                       .rules = rules, .n_rules = n_rules, .landlock = landlock,
                                       .drop_caps = true };
                exec_command(&x);
        }
        if (slave >= 0) {
                setpgid(child, child);
                close(slave);
        }
        prctl(PR_SET_NAME, "moat-init");
        /* From here init only reaps and relays. It keeps no file of the
         * sandbox open and holds no capability the command could borrow: it
         * is not reachable by the command except through signals, which the
         * kernel does not deliver to a namespace's init without a handler. */
        int exit_status = -1;
        for (;;) {
                struct pollfd fds[3] = { { .fd = sfd, .events = POLLIN }, { .fd = ctl, .events = POLLIN },
                                         { .fd = a->fwd_sock, .events = POLLIN } };
                if (poll(fds, 3, -1) < 0) {
                        if (errno == EINTR)
                                continue;
                        _exit(125);
                }
                if (fds[1].revents & (POLLHUP | POLLERR))
                        _exit(125); /* the supervisor is gone */
                if (fds[2].revents & POLLIN)
                        answer_forward(a->fwd_sock);
                if (fds[1].revents & POLLIN) {
                        struct msg m;
                        if (msg_recv(ctl, &m, NULL) <= 0)
                                _exit(125);
                        if (m.type == MSG_SIGNAL && kill(-child, m.status) < 0)
                                kill(child, m.status);
                }
                if (!(fds[0].revents & POLLIN))
                        continue;
                struct signalfd_siginfo si;
                while (read(sfd, &si, sizeof si) == sizeof si)
                        ;
                for (;;) {
                        int st;
                        pid_t w = waitpid(-1, &st, WNOHANG | WUNTRACED);
                        if (w <= 0)
                                break;
                        if (w != child)
                                continue; /* an orphan re-parented to us: reaped */
                        if (WIFSTOPPED(st)) {
                                struct msg m = { .type = MSG_STOPPED, .status = WSTOPSIG(st) };
                                msg_send(ctl, &m, -1);
                                continue;
                        }
                        exit_status = st;
                }
                if (exit_status != -1) {
                        struct msg m = { .type = MSG_EXIT, .status = exit_status };
                        msg_send(ctl, &m, -1);
                        /* Leaving pid 1 kills every process left in the
                         * namespace: nothing outlives the command. */
                        _exit(0);
                }
        }
}
