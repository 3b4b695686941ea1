/* SPDX-License-Identifier: MIT */
/* The supervisor: stays on the host side, never enters the sandbox's
 * namespaces, and runs one event loop for signals, the pty relay, the wall
 * clock and the sandbox's reports. */
#include "sandbox/sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sandbox/cgroup.h"
#include "sandbox/exec.h"
#include "sandbox/init.h"
#include "sandbox/landlock.h"
#include "sandbox/probe.h"
#include "sandbox/proto.h"
#include "sandbox/pty.h"
#include "sandbox/stubs.h"
#include "util/log.h"
#include "util/strv.h"

/* Time a command gets between SIGTERM and SIGKILL once its time is up. */
#define TIMEOUT_GRACE_S 2

static const int relayed[] = { SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2, SIGWINCH, SIGTSTP, SIGCONT,
                               SIGCHLD, SIGTTIN, SIGTTOU };

/* What sandbox_run changes in the process's signal state, to put back. */
struct saved_signals {
        sigset_t mask;
        struct sigaction pipe;
};

static double now_s(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct session {
        const struct policy *p;
        pid_t pid;       /* init (namespaced) or the command (weak mode) */
        int pidfd;
        int ctl;
        int sfd;
        int tfd;
        bool ns;
        bool use_pty;
        bool have_pty;
        struct pty_relay pty;
        bool exited;
        int wait_status;  /* the command's */
        bool have_status;
        bool ctl_eof;
        bool killed_hard;
        struct msg error; /* first MSG_ERROR, type 0 if none */
        struct egress *egress;
        int log_fd;       /* --log, or -1 */
        int proxy_fd;     /* the proxy's listener from init, until the egress loop takes it */
        struct egress_forward *forwards; /* -p and --host-port listeners */
        size_t n_forwards, cap_forwards;
        int listeners_pending; /* listeners init has still to send */
        int fwd_sock;     /* our end of the pair init makes published connections on */
        bool stop_requested; /* the user's Ctrl-Z without a pty: stop with the command */
        char *weak_tmp;   /* weak mode: the private temporary directory */
        struct sandbox_result *res;
};

static void send_signal(struct session *s, int sig)
{
        /* init passes it to the command's process group; in weak mode the
         * command leads its own session and group. */
        if (s->ns) {
                struct msg m = { .type = MSG_SIGNAL, .status = sig };
                (void)msg_send(s->ctl, &m, -1);
        } else if (kill(-s->pid, sig) < 0)
                kill(s->pid, sig);
}

static void arm_timer(int tfd, uint64_t seconds)
{
        struct itimerspec it = { .it_value = { .tv_sec = (time_t)seconds } };
        timerfd_settime(tfd, 0, &it, NULL);
}

static void job_stop(struct session *s)
{
        /* The command stopped (Ctrl-Z): give the user's shell its terminal
         * back by stopping ourselves, cooked. SIGCONT brings us back. */
        if (s->have_pty)
                pty_relay_restore(&s->pty);
        raise(SIGSTOP);
}

static void handle_signal(struct session *s, const struct signalfd_siginfo *si)
{
        int sig = (int)si->ssi_signo;
        switch (sig) {
        case SIGCHLD:
        case SIGTTIN:
        case SIGTTOU:
                return;
        case SIGWINCH:
                if (s->have_pty)
                        pty_relay_winsize(&s->pty);
                return;
        case SIGCONT:
                if (s->have_pty && !s->pty.raw)
                        (void)pty_relay_resume(&s->pty);
                send_signal(s, SIGCONT);
                return;
        case SIGTSTP:
                if (s->have_pty)
                        return; /* a Ctrl-Z meant for the sandbox arrives as a byte */
                /* Without a terminal the command's group is orphaned and the
                 * kernel would drop SIGTSTP: stop it outright. */
                s->stop_requested = true;
                send_signal(s, SIGSTOP);
                return;
        default:
                send_signal(s, sig);
                return;
        }
}

static void handle_ctl(struct session *s)
{
        struct msg m;
        int fd = -1;
        int n = msg_recv(s->ctl, &m, &fd);
        if (n <= 0) {
                s->ctl_eof = true;
                return;
        }
        switch ((enum msg_type)m.type) {
        case MSG_ERROR:
                if (!s->error.type)
                        s->error = m;
                break;
        case MSG_EXIT:
                s->wait_status = m.status;
                s->have_status = true;
                break;
        case MSG_STOPPED:
                /* Only hand the terminal back for a stop the user made (a
                 * Ctrl-Z): a command stopping itself must not suspend the
                 * supervisor, and with it the timeout. */
                if (s->have_pty || s->stop_requested) {
                        s->stop_requested = false;
                        job_stop(s);
                }
                break;
        case MSG_PTY:
                if (fd >= 0 && !s->have_pty && pty_relay_start(&s->pty, fd, STDIN_FILENO, STDOUT_FILENO) == 0) {
                        s->have_pty = true;
                        fd = -1;
                }
                break;
        case MSG_LISTENER:
                /* status 0: the proxy's; otherwise a --host-port's port. */
                if (fd >= 0 && m.status == 0 && s->proxy_fd < 0) {
                        s->proxy_fd = fd;
                        fd = -1;
                } else if (fd >= 0 && s->n_forwards < s->cap_forwards) {
                        s->forwards[s->n_forwards++] = (struct egress_forward){ FWD_HOST_PORT, fd,
                                                                                 (uint16_t)m.status };
                        fd = -1;
                }
                s->listeners_pending--;
                break;
        case MSG_GO:
        case MSG_SIGNAL:
        case MSG_TYPE_MAX:
                break;
        }
        if (fd >= 0)
                close(fd);
}

static void on_timeout(struct session *s)
{
        uint64_t ticks;
        (void)!read(s->tfd, &ticks, sizeof ticks);
        if (!s->res->timed_out) {
                s->res->timed_out = true;
                s->res->hits |= HIT_TIMEOUT;
                send_signal(s, SIGTERM);
                arm_timer(s->tfd, TIMEOUT_GRACE_S);
        } else if (!s->killed_hard) {
                s->killed_hard = true;
                kill(s->ns ? s->pid : -s->pid, SIGKILL);
        }
}

/* Nothing in here blocks (the pty relay included): a signal, the wall
 * clock or the command's exit is always seen. */
static void loop(struct session *s)
{
        while (!s->exited || (!s->ctl_eof && s->ctl >= 0)) {
                struct pollfd fds[4 + PTY_POLL_MAX];
                struct pollfd *pty_fds = fds + 4;
                fds[0] = (struct pollfd){ .fd = s->pidfd, .events = POLLIN };
                fds[1] = (struct pollfd){ .fd = s->sfd, .events = POLLIN };
                fds[2] = (struct pollfd){ .fd = s->tfd, .events = POLLIN };
                fds[3] = (struct pollfd){ .fd = s->ctl_eof ? -1 : s->ctl, .events = POLLIN };
                /* Once the sandbox is gone, do not wait on a control socket
                 * that only a stray writer could keep open. */
                const int exit_wait = s->exited ? 100 : -1;
                int timeout = exit_wait;
                for (size_t i = 0; i < PTY_POLL_MAX; i++)
                        pty_fds[i] = (struct pollfd){ .fd = -1 };
                bool relay = s->have_pty;
                if (relay) {
                        int t = pty_relay_poll(&s->pty, pty_fds);
                        if (t >= 0 && (timeout < 0 || t < timeout))
                                timeout = t;
                }
                int r = poll(fds, ARRAY_SIZE(fds), timeout);
                if (r < 0 && errno != EINTR)
                        break;
                if (r == 0 && s->exited && timeout == exit_wait)
                        break;
                if (fds[3].revents & (POLLIN | POLLHUP | POLLERR))
                        handle_ctl(s);
                if (fds[1].revents & POLLIN) {
                        struct signalfd_siginfo si;
                        while (read(s->sfd, &si, sizeof si) == sizeof si)
                                handle_signal(s, &si);
                }
                if (fds[2].revents & POLLIN)
                        on_timeout(s);
                if (relay)
                        pty_relay_dispatch(&s->pty, pty_fds);
                if ((fds[0].revents & POLLIN) && !s->exited) {
                        siginfo_t info = { 0 };
                        if (waitid(P_PIDFD, (id_t)s->pidfd, &info, WEXITED | WNOHANG) == 0 && info.si_pid) {
                                s->exited = true;
                                if (!s->ns) {
                                        s->have_status = true;
                                        s->wait_status = info.si_code == CLD_EXITED ? W_EXITCODE(info.si_status, 0)
                                                                                    : info.si_status;
                                }
                        }
                }
        }
        if (s->have_pty) {
                pty_relay_drain(&s->pty);
                pty_relay_restore(&s->pty);
        }
}

/* The weaker mode, only when the user named it: no namespaces, so the
 * command runs on the host's filesystem view, limited by a Landlock ruleset
 * (system directories read-only, the project and a private temporary
 * directory writable, nothing else readable), seccomp (no inet sockets with
 * --net none) and rlimits. */
static int weak_rules(const struct policy *p, const char *tmp, struct landlock_rule *rules, size_t max,
                      struct moat_error *e)
{
        static const char *const rx[] = { "/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32" };
        static const char *const devs[] = { "/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom",
                                             "/dev/tty", "/dev/pts" };
        size_t n = 0;
        if (p->net == NET_PROXY)
                return error_set(e, ENOTSUP, "--allow needs a network namespace to keep everything but the proxy "
                                 "out; the weaker mode without user namespaces cannot do that");
#define RULE(path_, acc_) do { if (n < max) rules[n++] = (struct landlock_rule){ (path_), (acc_) }; } while (0)
        for (size_t i = 0; i < ARRAY_SIZE(rx); i++)
                RULE(rx[i], LL_READ_EXEC);
        RULE("/etc", LL_READ);
        RULE("/proc", LL_DEV);
        for (size_t i = 0; i < ARRAY_SIZE(devs); i++)
                RULE(devs[i], LL_DEV);
        RULE("/", LL_LIST);
        RULE(tmp, LL_WRITE);
        for (size_t i = 0; i < p->n_mounts; i++) {
                const struct mount_entry *m = &p->mounts[i];
                if (m->type == MOUNT_TMPFS && strcmp(m->origin, "--tmpfs") == 0)
                        return error_set(e, ENOTSUP, "--tmpfs %s: needs a mount namespace, which the weaker "
                                         "mode does not have", m->dst);
                if (m->type != MOUNT_BIND || strcmp(m->origin, "system") == 0)
                        continue;
                if (strcmp(m->src, m->dst) != 0)
                        return error_set(e, ENOTSUP, "%s %s:%s: the weaker mode cannot move a path; mount it at "
                                         "the same path", m->origin, m->src, m->dst);
                RULE(m->dst, m->writable ? LL_WRITE : LL_READ_EXEC);
        }
#undef RULE
        return (int)n;
}

/* From the start of a run to its very end, the relayed signals are held:
 * one arriving during set-up stays pending and the loop reads it from the
 * signalfd (the command gets it as soon as it runs), and one arriving after
 * the loop takes effect only once the placeholders, the cgroup and the
 * terminal's modes are put back. SIGPIPE is ignored for the run: a write to
 * a reader that went away (stderr piped into head, a peer of the proxy)
 * must fail with EPIPE, not kill the supervisor before it cleans up. */
static void signals_hold(struct saved_signals *saved, const sigset_t *relay)
{
        sigprocmask(SIG_BLOCK, relay, &saved->mask);
        struct sigaction ign = { .sa_handler = SIG_IGN };
        sigemptyset(&ign.sa_mask);
        sigaction(SIGPIPE, &ign, &saved->pipe);
}

static void signals_restore(const struct saved_signals *saved)
{
        sigaction(SIGPIPE, &saved->pipe, NULL);
        sigprocmask(SIG_SETMASK, &saved->mask, NULL);
}

/* The sandbox's first process (init, or the command in the weaker mode)
 * takes the mask back but keeps SIGPIPE ignored: init's own writes (-v into
 * a closed pipe) must not kill it either. exec_command puts SIGPIPE back to
 * its default just before execve, since an ignored signal would stay
 * ignored in the command. */
static void signals_restore_child(const struct saved_signals *saved)
{
        sigprocmask(SIG_SETMASK, &saved->mask, NULL);
}

static int spawn_weak(struct session *s, const struct saved_signals *saved, struct moat_error *e)
{
        const struct policy *p = s->p;
        char tmpl[] = "/tmp/moat-XXXXXX";
        if (!mkdtemp(tmpl))
                return error_set(e, errno, "creating a private temporary directory: %s", strerror(errno));
        s->weak_tmp = strdup(tmpl);
        if (!s->weak_tmp)
                return -ENOMEM;
        struct landlock_rule rules[96];
        int n = weak_rules(p, tmpl, rules, ARRAY_SIZE(rules), e);
        if (n < 0)
                return n;
        int pair[2];
        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) < 0)
                return error_set(e, errno, "socketpair: %s", strerror(errno));
        close(s->ctl);
        s->ctl = pair[0];
        pid_t pid = fork();
        if (pid < 0)
                return error_set(e, errno, "fork: %s", strerror(errno));
        if (pid == 0) {
                close(pair[0]);
                signals_restore_child(saved);
                struct policy copy = *p;
                char **env = NULL;
                for (size_t i = 0; p->env && p->env[i]; i++)
                        strv_push(&env, p->env[i]);
                strv_env_set(&env, "HOME", tmpl);
                strv_env_set(&env, "TMPDIR", tmpl);
                copy.env = env;
                if (!p->project && copy.workdir && strcmp(copy.workdir, p->home) == 0)
                        copy.workdir = tmpl;
                struct exec_plan x = { .policy = &copy, .ctl = pair[1], .pty_slave = -1, .rules = rules,
                                       .n_rules = (size_t)n, .landlock = true, .deny_inet = p->net == NET_NONE };
                exec_command(&x);
        }
        close(pair[1]);
        s->pid = pid;
        s->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
        s->ns = false;
        s->use_pty = false;
        if (s->pidfd < 0)
                return error_set(e, errno, "pidfd_open: %s", strerror(errno));
        return 0;
}

static void weak_cleanup(const char *dir)
{
        /* The private temporary directory goes with the run. */
        pid_t pid = fork();
        if (pid == 0) {
                execl("/bin/rm", "rm", "-rf", "--one-file-system", "--", dir, (char *)NULL);
                _exit(127);
        }
        if (pid > 0)
                waitpid(pid, NULL, 0);
}

/* -p: the host listeners are bound before anything starts, so a taken port
 * is one clear error; init gets one end of a pair to make the connections
 * inside on. */
static int open_publish(struct session *s, int *ret_init_end, struct moat_error *e)
{
        const struct policy *p = s->p;
        s->cap_forwards = p->n_publish + p->n_host_ports;
        if (!s->cap_forwards)
                return 0;
        s->forwards = calloc(s->cap_forwards, sizeof *s->forwards);
        if (!s->forwards)
                return -ENOMEM;
        for (size_t i = 0; i < p->n_publish; i++) {
                const struct publish *pub = &p->publish[i];
                int fd = socket(pub->host.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
                int one = 1;
                socklen_t len = pub->host.ss_family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
                if (fd < 0)
                        return error_set(e, errno, "--publish %s: %s", pub->text, strerror(errno));
                setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
                if (bind(fd, (const struct sockaddr *)&pub->host, len) < 0 || listen(fd, 512) < 0) {
                        int err = errno;
                        close(fd);
                        if (err == EADDRINUSE)
                                return error_set(e, err, "--publish %s: the host port is already in use", pub->text);
                        return error_set(e, err, "--publish %s: %s", pub->text, strerror(err));
                }
                s->forwards[s->n_forwards++] = (struct egress_forward){ FWD_PUBLISH, fd, pub->sandbox_port };
        }
        if (p->n_publish) {
                int pair[2];
                if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) < 0)
                        return error_set(e, errno, "socketpair: %s", strerror(errno));
                s->fwd_sock = pair[0];
                *ret_init_end = pair[1];
        }
        return 0;
}

static void close_network(struct session *s)
{
        for (size_t i = 0; i < s->n_forwards; i++)
                close(s->forwards[i].listen_fd);
        free(s->forwards);
        s->forwards = NULL;
        s->n_forwards = 0;
        if (s->proxy_fd >= 0)
                close(s->proxy_fd);
        if (s->fwd_sock >= 0)
                close(s->fwd_sock);
        s->proxy_fd = s->fwd_sock = -1;
}

/* Keeps the refusals for the result and prints the one-line summary. */
static void collect_decisions(struct session *s)
{
        size_t n;
        uint64_t more_allowed, more_refused;
        const struct egress_decision *d = egress_decisions(s->egress, &n);
        egress_dropped(s->egress, &more_allowed, &more_refused);
        s->res->n_allowed += (size_t)more_allowed;
        s->res->n_refusals_dropped = more_refused;
        for (size_t i = 0; i < n; i++) {
                if (d[i].allowed) {
                        s->res->n_allowed++;
                        continue;
                }
                struct egress_decision *v = realloc(s->res->refusals, (s->res->n_refusals + 1) * sizeof *v);
                if (!v)
                        break;
                s->res->refusals = v;
                v[s->res->n_refusals++] = d[i];
        }
        char line[2048];
        egress_summary(s->egress, line, sizeof line);
        if (line[0])
                log_info("%s", line);
}

void sandbox_result_free(struct sandbox_result *r)
{
        free(r->refusals);
        r->refusals = NULL;
        r->n_refusals = 0;
}

static int fail_closed(const struct policy *p, bool *ret_landlock, struct moat_error *e)
{
        int abi = landlock_abi();
        *ret_landlock = abi > 0;
        if (abi <= 0 && !(p->allow_weaker & WEAKER_LANDLOCK))
                return error_set(e, ENOTSUP,
                                 "Landlock is not available on this kernel (%s); moat refuses to run without it. "
                                 "Enable it (boot with lsm=...,landlock) or accept the weaker sandbox with "
                                 "--allow-weaker landlock. See 'moat doctor'.",
                                 strerror(-abi));
        return 0;
}

static void fill_result(struct session *s, const struct cgroup *cg)
{
        struct sandbox_result *r = s->res;
        r->exit_code = -1;
        if (cg && cg->kind != CGROUP_NONE) {
                bool oom = false;
                uint64_t peak = 0;
                if (cgroup_result(cg, &oom, &peak) == 0) {
                        r->oom = oom;
                        r->peak_memory = peak;
                        if (oom)
                                r->hits |= HIT_MEMORY;
                }
        }
        if (s->have_status) {
                int st = s->wait_status;
                if (WIFEXITED(st))
                        r->exit_code = WEXITSTATUS(st);
                else if (WIFSIGNALED(st)) {
                        r->signal = WTERMSIG(st);
                        if (r->signal == SIGXCPU)
                                r->hits |= HIT_CPU;
                        if (r->signal == SIGXFSZ)
                                r->hits |= HIT_FSIZE;
                }
        } else
                r->signal = SIGKILL; /* init itself was killed: the whole sandbox went with it */
        if (r->timed_out)
                r->status = 124;
        else if (r->oom)
                r->status = 137;
        else if (r->signal)
                r->status = 128 + r->signal;
        else
                r->status = r->exit_code;
}

int sandbox_run(const struct policy *p, struct sandbox_result *res, struct moat_error *e)
{
        int r;
        bool landlock;
        memset(res, 0, sizeof *res);
        if ((r = fail_closed(p, &landlock, e)) < 0)
                return r;
        snprintf(res->level, sizeof res->level, "%s", landlock ? "full" : "no-landlock");

        sigset_t mask;
        sigemptyset(&mask);
        for (size_t i = 0; i < ARRAY_SIZE(relayed); i++)
                sigaddset(&mask, relayed[i]);
        struct saved_signals saved;
        signals_hold(&saved, &mask);

        stubs_sweep();
        struct stubs stubs;
        if ((r = stubs_create(p, &stubs, e)) < 0) {
                stubs_remove(&stubs);
                signals_restore(&saved);
                return r;
        }
        log_step("placeholders for missing protected paths: %zu", strv_length(stubs.paths));

        struct cgroup cg = { 0 };
        char cgname[64];
        /* Unique even when a killed run left its directory behind and the
         * pid comes round again. */
        struct timespec cgts;
        clock_gettime(CLOCK_MONOTONIC, &cgts);
        snprintf(cgname, sizeof cgname, "moat-%d-%lx", (int)getpid(),
                 (unsigned long)cgts.tv_sec * 1000000000ul + (unsigned long)cgts.tv_nsec);
        if (cgroup_create("/sys/fs/cgroup", "/proc/self/cgroup", cgname, &p->limits, &cg) < 0)
                memset(&cg, 0, sizeof cg);
        log_step("cgroup: %s", cg.kind == CGROUP_V2 ? "v2" : cg.kind == CGROUP_V1 ? "v1" : "none (rlimits only)");

        struct session s = { .p = p, .res = res, .pidfd = -1, .ctl = -1, .sfd = -1, .tfd = -1, .log_fd = -1,
                             .proxy_fd = -1, .fwd_sock = -1 };
        int init_fwd = -1;
        if ((r = open_publish(&s, &init_fwd, e)) < 0) {
                close_network(&s);
                cgroup_destroy(&cg);
                stubs_remove(&stubs);
                signals_restore(&saved);
                return r;
        }
        if (p->log_path) {
                /* Never through a symlink or into a FIFO a sandbox could have
                 * planted: a regular file, or a new one. */
                struct stat lst;
                s.log_fd = open(p->log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW |
                                                     O_NONBLOCK, 0600);
                if (s.log_fd >= 0 && (fstat(s.log_fd, &lst) < 0 || !S_ISREG(lst.st_mode))) {
                        close(s.log_fd);
                        s.log_fd = -1;
                        errno = EINVAL;
                }
                if (s.log_fd < 0) {
                        r = error_set(e, errno, "--log %s: %s", p->log_path, strerror(errno));
                        close_network(&s);
                        cgroup_destroy(&cg);
                        stubs_remove(&stubs);
                        signals_restore(&saved);
                        return r;
                }
        }
        s.use_pty = p->tty == TTY_ALWAYS || (p->tty == TTY_AUTO && isatty(STDIN_FILENO) && isatty(STDOUT_FILENO));
        if (s.use_pty && (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)))
                s.use_pty = false; /* --tty without a terminal to relay to */
        int pair[2];
        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) < 0) {
                r = error_set(e, errno, "socketpair: %s", strerror(errno));
                goto out;
        }
        s.ctl = pair[0];
        s.sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
        s.tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
        if (s.sfd < 0 || s.tfd < 0) {
                r = error_set(e, errno, "signalfd/timerfd: %s", strerror(errno));
                close(pair[1]);
                goto out;
        }

        double start = now_s();
        unsigned long flags = CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS |
                              CLONE_NEWCGROUP | CLONE_PIDFD | SIGCHLD;
        if (p->net != NET_HOST)
                flags |= CLONE_NEWNET;
        struct init_args ia = { .policy = p, .ctl = pair[1], .use_pty = s.use_pty, .landlock = landlock,
                                .cgroup_fds = { -1, -1 }, .fwd_sock = init_fwd };
        if (cg.kind != CGROUP_NONE && cgroup_open_self_attach(&cg, ia.cgroup_fds) < 0)
                log_step("could not open the cgroup for joining; rlimits only");
        int pidfd = -1;
        pid_t pid = (pid_t)syscall(SYS_clone, flags, NULL, &pidfd, NULL, 0);
        if (pid == 0) {
                close(pair[0]);
                signals_restore_child(&saved);
                init_main(&ia);
        }
        close(pair[1]);
        if (init_fwd >= 0)
                close(init_fwd);
        for (int i = 0; i < 2; i++)
                if (ia.cgroup_fds[i] >= 0)
                        close(ia.cgroup_fds[i]);
        if (pid < 0) {
                int err = errno;
                char reason[512] = "";
                if (!probe_userns(reason, sizeof reason) || err == EPERM || err == ENOSPC || err == EUSERS) {
                        if ((p->allow_weaker & WEAKER_USERNS) && !landlock) {
                                r = error_set(e, err, "neither user namespaces nor Landlock are available: moat "
                                              "cannot sandbox anything here. See 'moat doctor'.");
                                goto out;
                        }
                        if (p->allow_weaker & WEAKER_USERNS) {
                                log_warn("user namespaces are unavailable; running with Landlock + seccomp + "
                                         "rlimits only (no mount, network or pid isolation)");
                                snprintf(res->level, sizeof res->level, "landlock-only");
                                r = spawn_weak(&s, &saved, e);
                                if (r < 0)
                                        goto out;
                                start = now_s();
                                goto run;
                        }
                        r = error_set(e, err, "cannot create the sandbox's namespaces: %s\n%s\nrefusing to run without them; "
                                      "--allow-weaker userns runs with Landlock + seccomp only.",
                                      strerror(err), reason[0] ? reason : "see 'moat doctor'");
                } else
                        r = error_set(e, err, "clone: %s", strerror(err));
                goto out;
        }
        s.pid = pid;
        s.pidfd = pidfd;
        s.ns = true;
        log_step("cloned the sandbox's init (pid %d on the host)", (int)pid);

        /* init sends its listeners, then the pty master, before waiting
         * for GO; count the listeners from here so none is missed. */
        s.listeners_pending = (p->net == NET_PROXY ? 1 : 0) + (int)p->n_host_ports;
        if (s.use_pty) {
                while (!s.have_pty && !s.ctl_eof && !s.error.type)
                        handle_ctl(&s);
        }
        /* The network helpers (proxy, forwards) run before the command. */
        while (s.listeners_pending > 0 && !s.ctl_eof && !s.error.type)
                handle_ctl(&s);
        if (!s.error.type && (s.proxy_fd >= 0 || s.n_forwards)) {
                struct egress_config ec = { .rules = p->rules, .n_rules = p->n_rules, .listen_fd = s.proxy_fd,
                                            .log_fd = s.log_fd, .forwards = s.forwards, .n_forwards = s.n_forwards,
                                            .init_sock = s.fwd_sock };
                if (egress_start(&ec, &s.egress) < 0) {
                        r = error_set(e, EIO, "could not start the egress proxy and port forwards");
                        goto out;
                }
                s.proxy_fd = -1;
                s.n_forwards = 0;
        }
        struct msg go = { .type = MSG_GO };
        (void)msg_send(s.ctl, &go, -1);
        log_step("starting the command");
run:
        if (p->limits.timeout_s)
                arm_timer(s.tfd, p->limits.timeout_s);

        loop(&s);
        res->duration_s = now_s() - start;

        if (s.error.type) {
                /* Set-up failed inside, or the command could not be
                 * executed: one line, the status it asked for. */
                e->exit_status = s.error.status ? s.error.status : 125;
                snprintf(e->msg, sizeof e->msg, "%s", s.error.text);
                if (strstr(e->msg, "uid map") || strstr(e->msg, "gid map")) {
                        char reason[512];
                        if (!probe_userns(reason, sizeof reason))
                                snprintf(e->msg + strlen(e->msg), sizeof e->msg - strlen(e->msg), "\n%s", reason);
                }
                r = -EIO;
                goto out;
        }
        fill_result(&s, &cg);
        r = 0;
out:
        if (s.egress) {
                egress_stop(s.egress);
                collect_decisions(&s);
                egress_free(s.egress);
        }
        if (s.log_fd >= 0)
                close(s.log_fd);
        close_network(&s);
        if (s.weak_tmp)
                weak_cleanup(s.weak_tmp);
        free(s.weak_tmp);
        if (s.ctl >= 0)
                close(s.ctl);
        if (s.sfd >= 0)
                close(s.sfd);
        if (s.tfd >= 0)
                close(s.tfd);
        if (s.pidfd >= 0) {
                /* Normally already reaped; after an error make sure nothing
                 * of the sandbox is left. */
                if (!s.exited) {
                        syscall(SYS_pidfd_send_signal, s.pidfd, SIGKILL, NULL, 0);
                        siginfo_t info;
                        waitid(P_PIDFD, (id_t)s.pidfd, &info, WEXITED);
                }
                close(s.pidfd);
        }
        if (s.have_pty)
                pty_relay_free(&s.pty);
        cgroup_destroy(&cg);
        stubs_remove(&stubs);
        signals_restore(&saved);
        return r;
}
