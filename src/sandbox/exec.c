/* SPDX-License-Identifier: MIT */
/* The enforcement order, in one place. Each step sits where it does for a
 * reason; read them top to bottom.
 *
 *   1. setsid            a new session without a controlling terminal: the
 *                        command cannot TIOCSTI into the user's terminal or
 *                        be signalled by its job control. With the
 *                        sandbox's pty, init leads that session instead and
 *                        the command takes its own foreground group in it.
 *   2. pty or stdio      the sandbox's own pty on 0, 1 and 2.
 *   3. close fds         nothing inherited beyond 0-2 (sockets, agent fds).
 *   4. chdir             the working directory, inside the new root.
 *   5. capabilities      dropped from every set, bounding set included, so
 *                        an exec as uid 0 in the namespace regains none.
 *   6. no_new_privs      no setuid, no file capabilities; required by 7-8.
 *   7. Landlock          the ruleset matching the mounts.
 *   8. seccomp           the last protection, so the steps above may use
 *                        what it denies.
 *   9. rlimits           just before execve: lowering a limit needs no
 *                        privilege, and the set-up above (libseccomp
 *                        allocates) is not squeezed by the memory limit.
 *  10. execve            the ctl socket is CLOEXEC: EOF tells the
 *                        supervisor that the exec succeeded.
 */
#include "sandbox/exec.h"

#include <errno.h>
#include <signal.h>
#include <termios.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/securebits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "sandbox/limits.h"
#include "sandbox/proto.h"
#include "sandbox/seccomp.h"
#include "util/log.h"
#include "util/strv.h"

void exec_fail(int ctl, int status, int err, const char *fmt, ...)
{
        struct msg m = { .type = MSG_ERROR, .err = err, .status = status };
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(m.text, sizeof m.text, fmt, ap);
        va_end(ap);
        if (ctl < 0 || msg_send(ctl, &m, -1) < 0)
                log_error("%s", m.text);
        _exit(status);
}

static int drop_capabilities(void)
{
        for (int c = 0; c <= 63; c++)
                if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0) {
                        if (errno == EINVAL)
                                break; /* past the kernel's last capability */
                        return negerrno();
                }
        if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
                return negerrno();
        /* uid 0 inside (the host's root mapped to itself) must not regain
         * capabilities on exec. */
        if (prctl(PR_SET_SECUREBITS, SECBIT_NOROOT | SECBIT_NOROOT_LOCKED | SECBIT_NO_SETUID_FIXUP |
                                             SECBIT_NO_SETUID_FIXUP_LOCKED | SECBIT_KEEP_CAPS_LOCKED,
                  0, 0, 0) < 0)
                return negerrno();
        struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
        struct __user_cap_data_struct d[2] = { 0 };
        if (syscall(SYS_capset, &h, d) < 0)
                return negerrno();
        return 0;
}

static void close_stray_fds(int keep)
{
        /* close_range(2) where available; else walk. The ctl fd is kept
         * (it is CLOEXEC) until execve. */
        int lo = 3;
        if (keep >= 3) {
                if (keep > 3)
                        syscall(SYS_close_range, 3, keep - 1, 0);
                lo = keep + 1;
        }
        if (syscall(SYS_close_range, lo, ~0u, 0) == 0)
                return;
        for (int fd = lo; fd < 65536; fd++)
                close(fd);
}

/* execvpe with the sandbox's PATH, reporting 127 with a useful hint when the
 * command is nowhere on it. */
static _Noreturn void do_exec(const struct exec_plan *x)
{
        const struct policy *p = x->policy;
        const char *cmd = p->argv[0];
        /* execvpe searches the PATH of the current environment, not of the
         * one it is given: make the sandbox's environment current. */
        extern char **environ;
        environ = p->env;
        signal(SIGPIPE, SIG_DFL); /* moat ignores it; an ignored signal would stay so across execve */
        execvp(cmd, p->argv);
        int err = errno;
        char esc[600];
        log_escape(cmd, esc, sizeof esc);
        if (err == ENOENT) {
                if (strchr(cmd, '/'))
                        exec_fail(x->ctl, 127, err, "%s: not found inside the sandbox (is its directory mounted? "
                                  "add --ro DIR)", esc);
                exec_fail(x->ctl, 127, err, "%s: command not found in the sandbox's PATH (%s); host-only "
                          "directories need --ro DIR", esc, SANDBOX_PATH);
        }
        if (err == EACCES || err == ENOEXEC || err == EISDIR || err == EPERM)
                exec_fail(x->ctl, 126, err, "%s: cannot execute: %s", esc, strerror(err));
        exec_fail(x->ctl, 126, err, "%s: %s", esc, strerror(err));
}

void exec_command(const struct exec_plan *x)
{
        const struct policy *p = x->policy;
        int ctl = x->ctl;
        int r;

        if (x->pty_slave >= 0 && x->pty_in_session) {
                /* Become the foreground group of init's session; SIGTTOU is
                 * blocked meanwhile, as a shell does for its jobs. */
                sigset_t ttou, old;
                sigemptyset(&ttou);
                sigaddset(&ttou, SIGTTOU);
                sigprocmask(SIG_BLOCK, &ttou, &old);
                if (setpgid(0, 0) < 0 || tcsetpgrp(x->pty_slave, getpid()) < 0)
                        exec_fail(ctl, 125, errno, "taking the foreground of the pty: %s", strerror(errno));
                sigprocmask(SIG_SETMASK, &old, NULL);
        } else if (setsid() < 0)
                exec_fail(ctl, 125, errno, "setsid: %s", strerror(errno));
        if (x->pty_slave >= 0) {
                if (!x->pty_in_session && ioctl(x->pty_slave, TIOCSCTTY, 0) < 0)
                        exec_fail(ctl, 125, errno, "making the pty the controlling terminal: %s", strerror(errno));
                for (int fd = 0; fd <= 2; fd++)
                        if (dup2(x->pty_slave, fd) < 0)
                                exec_fail(ctl, 125, errno, "dup2: %s", strerror(errno));
        }
        close_stray_fds(ctl);
        if (chdir(p->workdir) < 0) {
                char esc[512];
                exec_fail(ctl, 125, errno, "--workdir %s: %s inside the sandbox", log_escape(p->workdir, esc, sizeof esc),
                          strerror(errno));
        }
        if (x->drop_caps && (r = drop_capabilities()) < 0)
                exec_fail(ctl, 125, -r, "dropping capabilities: %s", strerror(-r));
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
                exec_fail(ctl, 125, errno, "no_new_privs: %s", strerror(errno));
        log_step("capabilities dropped, no_new_privs set");
        if (x->landlock && (r = landlock_apply(x->rules, x->n_rules, true)) < 0)
                exec_fail(ctl, 125, -r, "applying the Landlock ruleset: %s (run 'moat doctor')", strerror(-r));
        if (x->landlock)
                log_step("Landlock ruleset applied (ABI %d, %zu rules)", r, x->n_rules);
        struct seccomp_options so = { .deny_inet = x->deny_inet };
        if ((r = seccomp_apply(&so)) < 0)
                exec_fail(ctl, 125, -r, "loading the seccomp filter: %s (run 'moat doctor')", strerror(-r));
        log_step("seccomp filter loaded");
        if ((r = limits_apply_rlimits(&p->limits)) < 0)
                exec_fail(ctl, 125, -r, "setting resource limits: %s", strerror(-r));
        log_step("rlimits set; executing %s", p->argv[0]);
        do_exec(x);
}

size_t exec_rules_for_policy(const struct policy *p, struct landlock_rule *rules, size_t max)
{
        size_t n = 0;
#define RULE(path_, acc_) do { if (n < max) rules[n++] = (struct landlock_rule){ (path_), (acc_) }; } while (0)
        for (size_t i = 0; i < p->n_mounts; i++) {
                const struct mount_entry *m = &p->mounts[i];
                switch (m->type) {
                case MOUNT_BIND:
                        RULE(m->dst, m->writable ? LL_WRITE : LL_READ_EXEC);
                        break;
                case MOUNT_TMPFS:
                        RULE(m->dst, LL_WRITE);
                        break;
                case MOUNT_ETC:
                case MOUNT_SYS:
                        RULE(m->dst, LL_READ);
                        break;
                case MOUNT_PROC:
                        RULE(m->dst, LL_DEV);
                        break;
                case MOUNT_DEV:
                        RULE(m->dst, LL_DEV);
                        RULE("/dev/shm", LL_WRITE);
                        break;
                case MOUNT_ROOT:
                        RULE("/", LL_LIST);
                        break;
                case MOUNT_SYMLINK:
                case MOUNT_PROTECT: /* read-only by mount; Landlock cannot subtract */
                case MOUNT_TYPE_MAX:
                        break;
                }
        }
#undef RULE
        return n;
}
