/* SPDX-License-Identifier: MIT */
/* Run inside the sandbox by tests/escape: tries one class of attack and
 * prints a line per attempt,
 *     BLOCKED <name> <errno name or signal>
 *     ALLOWED <name>
 * exiting 0 when everything was blocked, 1 when anything got through, 2 on
 * a usage error. Plain libc and Linux uapi headers only: it must not share code
 * (or bugs) with the sandbox it tests.
 *
 * For `syscalls`, "ALLOWED" means the call got past the sandbox to the code
 * that does the work: each attempt uses arguments that then fail harmlessly
 * (a bad fd, a missing path, a bad magic number), so running this on the host
 * as root changes nothing. Only a denial counts as blocked: EPERM, EACCES,
 * ENOSYS, EAFNOSUPPORT, or death by a signal. Each attempt runs in its own
 * child, so a kill action, an unshare or a personality change stays there. */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/keyctl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef AF_VSOCK
#define AF_VSOCK 40
#endif
#ifndef AF_ALG
#define AF_ALG 38
#endif

#define NOPATH "/moat-probe-does-not-exist"

static int any_allowed;

static const char *errname(int e)
{
        const char *n = strerrorname_np(e);
        static char buf[16];

        if (n)
                return n;
        snprintf(buf, sizeof(buf), "E%d", e);
        return buf;
}

static void report_blocked(const char *name, const char *why)
{
        printf("BLOCKED %s %s\n", name, why);
}

static void report_allowed(const char *name)
{
        printf("ALLOWED %s\n", name);
        any_allowed = 1;
}

static int is_denial(int e)
{
        return e == EPERM || e == EACCES || e == ENOSYS || e == EAFNOSUPPORT;
}

struct attempt {
        const char *name;
        long nr;
        long a[6];
        long (*fn)(const struct attempt *); /* instead of syscall(nr, a...) */
};
#define T(n, sys, ...) { .name = (n), .nr = (sys), .a = { __VA_ARGS__ } }
#define F(n, f, ...) { .name = (n), .fn = (f), .a = { __VA_ARGS__ } }

/* In a child: the call's errno as exit status, 0 on success. A clone that
 * got through leaves a grandchild, which leaves at once and is reaped. */
static void run_attempt(const struct attempt *t)
{
        pid_t me = getpid();
        long r;
        int e;

        errno = 0;
        r = t->fn ? t->fn(t) : syscall(t->nr, t->a[0], t->a[1], t->a[2], t->a[3], t->a[4], t->a[5]);
        e = errno;
        if (getpid() != me)
                _exit(0);
        while (waitpid(-1, NULL, __WALL) > 0)
                ;
        _exit(r < 0 ? (e > 0 && e < 256 ? e : 255) : 0);
}

static void attempt(const struct attempt *t)
{
        int status;
        pid_t pid;

        fflush(stdout);
        pid = fork();
        if (pid < 0) {
                fprintf(stderr, "probe: fork: %s\n", strerror(errno));
                exit(2);
        }
        if (pid == 0)
                run_attempt(t);
        if (waitpid(pid, &status, 0) < 0) {
                fprintf(stderr, "probe: waitpid: %s\n", strerror(errno));
                exit(2);
        }
        if (WIFSIGNALED(status)) {
                char sig[32];
                const char *abbrev = sigabbrev_np(WTERMSIG(status));
                if (abbrev)
                        snprintf(sig, sizeof(sig), "SIG%s", abbrev);
                else
                        snprintf(sig, sizeof(sig), "signal %d", WTERMSIG(status));
                report_blocked(t->name, sig);
        } else if (WEXITSTATUS(status) != 0 && is_denial(WEXITSTATUS(status))) {
                report_blocked(t->name, errname(WEXITSTATUS(status)));
        } else {
                report_allowed(t->name);
        }
}

#if defined(__x86_64__)
/* getpid (20) through the i386 entry point. */
static long int80_getpid(const struct attempt *t)
{
        int r;

        (void) t;
        __asm__ volatile("int $0x80" : "=a"(r) : "a"(20) : "memory", "r8", "r9", "r10", "r11");
        if (r < 0 && r > -4096) {
                errno = -r;
                return -1;
        }
        return 0;
}
#endif

static long io_uring(const struct attempt *t)
{
        unsigned char params[120] = { 0 }; /* struct io_uring_params, zeroed */

        (void) t;
        return syscall(SYS_io_uring_setup, 4L, params);
}

static long clone3_newns(const struct attempt *t)
{
        /* struct clone_args, version 0: flags ... exit_signal ... */
        uint64_t args[8] = { CLONE_NEWNS, 0, 0, 0, SIGCHLD, 0, 0, 0 };

        (void) t;
        return syscall(SYS_clone3, args, sizeof(args));
}

static int cmd_syscalls(void)
{
        static const char key_desc[] = "moat-probe", key_type[] = "user", payload[] = "x";
        long self = getpid();
        const struct attempt list[] = {
                T("unshare(CLONE_NEWUSER)", SYS_unshare, CLONE_NEWUSER),
                T("unshare(CLONE_NEWNS)", SYS_unshare, CLONE_NEWNS),
                T("setns", SYS_setns, -1, 0),
                T("clone(CLONE_NEWUSER)", SYS_clone, CLONE_NEWUSER | SIGCHLD),
                T("clone(CLONE_NEWNS)", SYS_clone, CLONE_NEWNS | SIGCHLD),
                F("clone3(CLONE_NEWNS)", clone3_newns),
                T("mount", SYS_mount, (long) "none", (long) NOPATH, (long) "tmpfs", 0, 0),
                T("umount2", SYS_umount2, (long) NOPATH, 0),
                T("pivot_root", SYS_pivot_root, (long) NOPATH, (long) NOPATH),
                T("chroot", SYS_chroot, (long) NOPATH),
                T("open_tree", SYS_open_tree, -1, (long) NOPATH, 0),
#if defined(__x86_64__) || defined(__aarch64__)
                T("open_tree_attr", 467, -1, (long) NOPATH, 0, 0, 0),
#endif
                T("move_mount", SYS_move_mount, -1, (long) NOPATH, -1, (long) NOPATH, 0),
                T("fsopen", SYS_fsopen, (long) "moat-probe-no-such-fs", 0),
                T("fsconfig", SYS_fsconfig, -1, 0, 0, 0, 0),
                T("fsmount", SYS_fsmount, -1, 0, 0),
                T("fspick", SYS_fspick, -1, (long) NOPATH, 0),
                T("mount_setattr", SYS_mount_setattr, -1, (long) NOPATH, 0, 0, 0),
                T("keyctl", SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, 0),
                T("add_key", SYS_add_key, (long) key_type, (long) key_desc, (long) payload, 1,
                  KEY_SPEC_PROCESS_KEYRING),
                T("request_key", SYS_request_key, (long) key_type, (long) key_desc, 0, 0),
                T("bpf", SYS_bpf, 5 /* BPF_PROG_LOAD */, 0, 0),
                T("perf_event_open", SYS_perf_event_open, 0, 0, -1, -1, 0),
                T("userfaultfd", SYS_userfaultfd, O_CLOEXEC),
                F("io_uring_setup", io_uring),
                T("io_uring_enter", SYS_io_uring_enter, -1, 0, 0, 0, 0, 0),
                T("kexec_load", SYS_kexec_load, 0, 1000 /* > KEXEC_SEGMENT_MAX */, 0, 0),
                T("kexec_file_load", SYS_kexec_file_load, -1, -1, 0, 0, 0),
                T("init_module", SYS_init_module, 0, 0, (long) ""),
                T("finit_module", SYS_finit_module, -1, (long) "", 0),
                T("delete_module", SYS_delete_module, (long) "moat_probe_no_such_module", O_NONBLOCK),
#if defined(__x86_64__)
                T("iopl", SYS_iopl, 4 /* > 3 */),
                T("ioperm", SYS_ioperm, 0x80, 1, 0 /* turn off */),
                T("modify_ldt", SYS_modify_ldt, 0 /* read */, 0, 0),
#endif
                T("swapon", SYS_swapon, (long) NOPATH, 0),
                T("swapoff", SYS_swapoff, (long) NOPATH),
                T("acct", SYS_acct, (long) NOPATH),
                T("reboot", SYS_reboot, 0 /* bad magic: EINVAL if reached */, 0, 0, 0),
                T("syslog", SYS_syslog, 10 /* SYSLOG_ACTION_SIZE_BUFFER */, 0, 0),
                T("settimeofday", SYS_settimeofday, 0, 0),
                T("clock_settime", SYS_clock_settime, 0, 0),
                T("sethostname", SYS_sethostname, (long) "x", -1),
                T("name_to_handle_at", SYS_name_to_handle_at, AT_FDCWD, (long) "/", 0, 0, 0),
                T("open_by_handle_at", SYS_open_by_handle_at, -1, 0, 0),
                T("kcmp", SYS_kcmp, self, self, 0 /* KCMP_FILE */, 0, 0),
                T("personality(PER_LINUX32|ADDR_NO_RANDOMIZE)", SYS_personality, 0x0008 | 0x0040000),
                T("personality(READ_IMPLIES_EXEC)", SYS_personality, 0x0400000),
                T("personality(PER_BSD)", SYS_personality, 0x0006),
                T("socket(AF_PACKET)", SYS_socket, AF_PACKET, SOCK_RAW, 0),
                T("socket(AF_VSOCK)", SYS_socket, AF_VSOCK, SOCK_STREAM, 0),
                T("socket(AF_BLUETOOTH)", SYS_socket, AF_BLUETOOTH, SOCK_RAW, 1 /* BTPROTO_HCI */),
                T("socket(AF_ALG)", SYS_socket, AF_ALG, SOCK_SEQPACKET, 0),
                T("socket(AF_KEY)", SYS_socket, AF_KEY, SOCK_RAW, 2 /* PF_KEY_V2 */),
#if defined(__x86_64__)
                F("i386-getpid(int80)", int80_getpid),
                T("x32-getpid", 0x40000000 | SYS_getpid, 0),
#endif
        };

        for (size_t i = 0; i < sizeof(list) / sizeof(list[0]); i++)
                attempt(&list[i]);
        return any_allowed;
}

static char tiocsti_byte = 'x';

static long tiocsti(const struct attempt *t)
{
        return syscall(SYS_ioctl, t->a[0], t->a[1], &tiocsti_byte);
}

static long tioclinux(const struct attempt *t)
{
        char subcode = 6; /* TIOCL_GETSHIFTSTATE: reads, changes nothing */

        return syscall(SYS_ioctl, t->a[0], (long) TIOCLINUX, &subcode);
}

static void tty_attempts(int fd, const char *where)
{
        char n1[64], n2[64], n3[64];
        const struct attempt list[] = {
                F(n1, tiocsti, fd, TIOCSTI),
                F(n2, tiocsti, fd, (long) ((1UL << 32) | TIOCSTI)),
                F(n3, tioclinux, fd),
        };

        snprintf(n1, sizeof(n1), "TIOCSTI(%s)", where);
        snprintf(n2, sizeof(n2), "TIOCSTI|1<<32(%s)", where);
        snprintf(n3, sizeof(n3), "TIOCLINUX(%s)", where);
        for (size_t i = 0; i < sizeof(list) / sizeof(list[0]); i++)
                attempt(&list[i]);
}

/* On a tty that is not the sandbox's own pty an allowed TIOCSTI types an
 * 'x' into it: that is the attack, and the reason this mode exists. */
static int cmd_tiocsti(void)
{
        int fd;

        tty_attempts(0, "stdin");
        fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
        if (fd >= 0) {
                tty_attempts(fd, "/dev/tty");
                close(fd);
        }
        return any_allowed;
}

static void report_fd(int fd)
{
        char path[64], target[PATH_MAX];
        ssize_t n;

        snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
        n = readlink(path, target, sizeof(target) - 1);
        if (n < 0)
                snprintf(target, sizeof(target), "?");
        else
                target[n] = '\0';
        printf("ALLOWED fd %d -> %s\n", fd, target);
        any_allowed = 1;
}

static int cmd_fds(void)
{
        DIR *d = opendir("/proc/self/fd");
        struct dirent *e;

        if (!d) {
                /* No /proc in the sandbox: ask each fd number instead. */
                long max = sysconf(_SC_OPEN_MAX);
                if (max < 0 || max > 65536)
                        max = 65536;
                for (int fd = 3; fd < max; fd++)
                        if (fcntl(fd, F_GETFD) >= 0)
                                report_fd(fd);
                return any_allowed;
        }
        while ((e = readdir(d))) {
                char *end;
                long fd = strtol(e->d_name, &end, 10);
                if (*end || end == e->d_name || fd <= 2 || fd == dirfd(d))
                        continue;
                report_fd((int) fd);
        }
        closedir(d);
        return any_allowed;
}

static int connect_unix(const char *arg)
{
        static const int types[] = { SOCK_STREAM, SOCK_SEQPACKET, SOCK_DGRAM };
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int abstract = arg[0] == '@';
        const char *name = abstract ? arg + 1 : arg;
        size_t len = strlen(name);
        socklen_t salen;
        int err = 0;

        if (len + (size_t) abstract >= sizeof(sa.sun_path))
                return ENAMETOOLONG;
        memcpy(sa.sun_path + abstract, name, len);
        salen = (socklen_t) (offsetof(struct sockaddr_un, sun_path) + (size_t) abstract + len + !abstract);

        /* The listener may have another socket type: a path says EPROTOTYPE,
         * an abstract name (looked up by name and type) ECONNREFUSED. */
        for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
                int fd = socket(AF_UNIX, types[i] | SOCK_CLOEXEC, 0);
                if (fd < 0)
                        return errno;
                err = connect(fd, (struct sockaddr *) &sa, salen) == 0 ? 0 : errno;
                close(fd);
                if (err != EPROTOTYPE && !(abstract && err == ECONNREFUSED))
                        break;
        }
        return err;
}

static int cmd_sockets(int argc, char **argv)
{
        for (int i = 0; i < argc; i++) {
                int err = connect_unix(argv[i]);
                if (err == 0)
                        report_allowed(argv[i]);
                else
                        report_blocked(argv[i], errname(err));
        }
        return any_allowed;
}

static int connect_tcp(const char *host, const char *port_s, char *name, size_t size)
{
        struct sockaddr_storage ss = { 0 };
        struct sockaddr_in *in4 = (struct sockaddr_in *) &ss;
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *) &ss;
        socklen_t len;
        char *end;
        long port = strtol(port_s, &end, 10);
        struct pollfd p = { .events = POLLOUT };
        int err = 0;
        socklen_t errlen = sizeof(err);

        if (*end || end == port_s || port < 1 || port > 65535)
                return -1;
        if (inet_pton(AF_INET, host, &in4->sin_addr) == 1) {
                in4->sin_family = AF_INET;
                in4->sin_port = htons((uint16_t) port);
                len = sizeof(*in4);
                snprintf(name, size, "connect(%s:%ld)", host, port);
        } else if (inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
                in6->sin6_family = AF_INET6;
                in6->sin6_port = htons((uint16_t) port);
                len = sizeof(*in6);
                snprintf(name, size, "connect([%s]:%ld)", host, port);
        } else {
                return -1;
        }

        p.fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (p.fd < 0)
                return errno;
        if (connect(p.fd, (struct sockaddr *) &ss, len) < 0) {
                err = errno;
                if (err == EINPROGRESS) {
                        /* A filtered network drops SYNs: give up after 5 s. */
                        int r = poll(&p, 1, 5000);
                        if (r == 0)
                                err = ETIMEDOUT;
                        else if (r < 0 || getsockopt(p.fd, SOL_SOCKET, SO_ERROR, &err, &errlen) < 0)
                                err = errno;
                }
        }
        close(p.fd);
        return err;
}

static int cmd_connect(const char *host, const char *port)
{
        char name[128];
        int err = connect_tcp(host, port, name, sizeof(name));

        if (err < 0) {
                fprintf(stderr, "probe: connect: want an IPv4 or IPv6 literal and a port, got \"%s\" \"%s\"\n",
                        host, port);
                return 2;
        }
        if (err == 0)
                report_allowed(name);
        else
                report_blocked(name, errname(err));
        return any_allowed;
}

static int cmd_signal(const char *pid_s)
{
        char *end, name[64];
        long pid = strtol(pid_s, &end, 10);

        if (*end || end == pid_s || pid <= 0 || pid > INT_MAX) {
                fprintf(stderr, "probe: signal: \"%s\" is not a pid\n", pid_s);
                return 2;
        }
        snprintf(name, sizeof(name), "signal(%ld)", pid);
        if (kill((pid_t) pid, 0) == 0)
                report_allowed(name);
        else
                report_blocked(name, errname(errno));
        return any_allowed;
}

static int usage(void)
{
        fprintf(stderr,
                "usage: probe syscalls\n"
                "       probe tiocsti\n"
                "       probe fds\n"
                "       probe sockets PATH|@ABSTRACT...\n"
                "       probe connect HOST PORT\n"
                "       probe signal PID\n");
        return 2;
}

int main(int argc, char **argv)
{
        int r;

        if (argc < 2)
                return usage();
        /* Line-buffered even into a pipe, so lines and child output interleave in order. */
        setvbuf(stdout, NULL, _IOLBF, 0);

        if (strcmp(argv[1], "syscalls") == 0 && argc == 2)
                r = cmd_syscalls();
        else if (strcmp(argv[1], "tiocsti") == 0 && argc == 2)
                r = cmd_tiocsti();
        else if (strcmp(argv[1], "fds") == 0 && argc == 2)
                r = cmd_fds();
        else if (strcmp(argv[1], "sockets") == 0 && argc >= 3)
                r = cmd_sockets(argc - 2, argv + 2);
        else if (strcmp(argv[1], "connect") == 0 && argc == 4)
                r = cmd_connect(argv[2], argv[3]);
        else if (strcmp(argv[1], "signal") == 0 && argc == 3)
                r = cmd_signal(argv[2]);
        else
                return usage();
        return r;
}
