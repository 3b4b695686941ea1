/* SPDX-License-Identifier: MIT */
/* The syscall filter: each case runs in a forked child (a filter cannot be
 * removed), which sets no_new_privs, loads the filter and tries calls; the
 * first check that failed comes back as its exit status. Denied calls get
 * arguments that would fail harmlessly if the filter were missing. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sandbox/seccomp.h"
#include "tests/unit/tap.h"

#ifndef AF_VSOCK
#define AF_VSOCK 40
#endif
#ifndef AF_ALG
#define AF_ALG 38
#endif

extern char **environ;

/* A failed check exits with its line number (mod 256, never 0). */
#define CHECK(c) do { if (!(c)) { dprintf(1, "#   line %d: %s\n", __LINE__, #c); _exit(__LINE__ % 255 + 1); } } while (0)
#define FAILS(expr, e) ({ errno = 0; long _r = (expr); _r < 0 && errno == (e); })

static void apply_or_die(bool deny_inet)
{
        struct seccomp_options o = { .deny_inet = deny_inet };

        CHECK(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0);
        CHECK(seccomp_apply(&o) == 0);
}


/* Mirrors seccomp.c: names newer than libseccomp's tables. */
static int syscall_nr(const char *name)
{
        int nr = seccomp_syscall_resolve_name(name);
#if defined(__x86_64__) || defined(__aarch64__)
        if (nr == __NR_SCMP_ERROR && strcmp(name, "open_tree_attr") == 0)
                return 467;
#endif
        return nr;
}

/* Calls fn(name, ctx) for each syscall name a row lists; a piece with a space
 * in it is prose (the foreign-ABI row), not a name. */
static int each_name(const char *what, int (*fn)(const char *, void *), void *ctx)
{
        char buf[256], *save = NULL;
        size_t len = strcspn(what, "(");
        int bad = 0;

        if (len >= sizeof(buf))
                return 1;
        memcpy(buf, what, len);
        buf[len] = '\0';
        for (char *p = strtok_r(buf, ",", &save); p; p = strtok_r(NULL, ",", &save)) {
                p += strspn(p, " ");
                for (size_t n = strlen(p); n > 0 && p[n - 1] == ' '; n--)
                        p[n - 1] = '\0';
                if (*p && !strchr(p, ' '))
                        bad += fn(p, ctx);
        }
        return bad;
}

static int name_known(const char *name, void *ctx)
{
        (void) ctx;
        if (syscall_nr(name) != __NR_SCMP_ERROR)
                return 0;
        printf("#   unknown syscall name \"%s\"\n", name);
        return 1;
}

static void t_rules(void)
{
        size_t n = 0;
        const struct seccomp_rule_doc *r = seccomp_rules(&n);
        int bad = 0;

        tap_ok(r && n > 10, "seccomp_rules() lists %zu rules", n);
        for (size_t i = 0; r && i < n; i++) {
                if (!r[i].what || !*r[i].what || !r[i].why || !*r[i].why || strchr(r[i].why, '\n')) {
                        printf("#   rule %zu has an empty or multi-line what/why\n", i);
                        bad++;
                        continue;
                }
                bad += each_name(r[i].what, name_known, NULL);
        }
        tap_ok(bad == 0, "every rule has a what and a one-line why, and names real syscalls");
}

static void c_no_nnp(void)
{
        int before = prctl(PR_GET_SECCOMP, 0, 0, 0, 0);

        CHECK(prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) == 0);
        CHECK(seccomp_apply(NULL) == -EPERM);
        CHECK(prctl(PR_GET_SECCOMP, 0, 0, 0, 0) == before);
}

static void c_namespaces(void)
{
        static const unsigned long flags[] = {
                CLONE_NEWNS, CLONE_NEWCGROUP, CLONE_NEWUTS, CLONE_NEWIPC,
                CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET,
        };
        uint64_t args[8] = { CLONE_NEWUSER, 0, 0, 0, SIGCHLD, 0, 0, 0 };
        pid_t me = getpid();

        apply_or_die(false);
        CHECK(FAILS(unshare(CLONE_NEWUSER), EPERM));
        CHECK(FAILS(unshare(CLONE_NEWNS), EPERM));
        CHECK(FAILS(setns(-1, 0), EPERM));
        for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++) {
                errno = 0;
                long r = syscall(SYS_clone, flags[i] | SIGCHLD, 0, 0, 0, 0);
                if (r == 0 && getpid() != me)
                        _exit(0);
                CHECK(r < 0 && errno == EPERM);
        }
        errno = 0;
        long r = syscall(SYS_clone3, args, sizeof(args));
        if (r == 0 && getpid() != me)
                _exit(0);
        CHECK(r < 0 && errno == ENOSYS);
}

static void c_keys(void)
{
        apply_or_die(false);
        CHECK(FAILS(syscall(SYS_keyctl, 0 /* KEYCTL_GET_KEYRING_ID */, -3 /* session */, 0), EPERM));
        CHECK(FAILS(syscall(SYS_add_key, "user", "moat-test", "x", 1, -2 /* process */), EPERM));
}

static bool can_socket(int family)
{
        int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return false;
        close(fd);
        return true;
}

static void c_sockets(void)
{
        bool v6 = can_socket(AF_INET6);
        int sv[2], fd;

        apply_or_die(false);
        CHECK(FAILS(socket(AF_PACKET, SOCK_RAW, 0), EAFNOSUPPORT));
        CHECK(FAILS(socket(AF_VSOCK, SOCK_STREAM, 0), EAFNOSUPPORT));
        CHECK(FAILS(socket(AF_BLUETOOTH, SOCK_RAW, 1), EAFNOSUPPORT));
        CHECK(FAILS(socket(AF_ALG, SOCK_SEQPACKET, 0), EAFNOSUPPORT));
        CHECK(FAILS(socket(AF_KEY, SOCK_RAW, 2), EAFNOSUPPORT));
        CHECK(FAILS(socket(AF_UNSPEC, SOCK_STREAM, 0), EAFNOSUPPORT));
        CHECK(FAILS(socketpair(AF_PACKET, SOCK_RAW, 0, sv), EAFNOSUPPORT));
        /* AF_UNIX with junk in the upper half: the kernel would see AF_UNIX,
         * the filter refuses rather than guess. */
        CHECK(FAILS(syscall(SYS_socket, (1UL << 32) | AF_UNIX, SOCK_STREAM, 0), EAFNOSUPPORT));

        CHECK(can_socket(AF_UNIX));
        CHECK(can_socket(AF_INET));
        CHECK(!v6 || can_socket(AF_INET6));
        CHECK((fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, 0 /* NETLINK_ROUTE */)) >= 0);
        close(fd);
        CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
}

static void c_deny_inet(void)
{
        int sv[2];

        apply_or_die(true);
        CHECK(FAILS(socket(AF_INET, SOCK_STREAM, 0), EACCES));
        CHECK(FAILS(socket(AF_INET6, SOCK_DGRAM, 0), EACCES));
        CHECK(FAILS(socketpair(AF_INET, SOCK_STREAM, 0, sv), EACCES));
        CHECK(FAILS(socket(AF_PACKET, SOCK_RAW, 0), EAFNOSUPPORT));
        CHECK(can_socket(AF_UNIX));
}

static void c_ioctl(void)
{
        int p[2], n = -1;
        char c = 'x';
        struct winsize ws;

        /* A pipe, not a tty: without the filter these fail with ENOTTY
         * instead of typing into whoever runs the test. */
        CHECK(pipe2(p, O_CLOEXEC) == 0);
        apply_or_die(false);
        CHECK(FAILS(ioctl(p[0], TIOCSTI, &c), EPERM));
        CHECK(FAILS(syscall(SYS_ioctl, p[0], (1UL << 32) | TIOCSTI, &c), EPERM));
        CHECK(FAILS(syscall(SYS_ioctl, p[0], 0xffffffff00000000UL | TIOCSTI, &c), EPERM));
        CHECK(FAILS(ioctl(p[0], TIOCLINUX, &c), EPERM));
        CHECK(FAILS(syscall(SYS_ioctl, p[0], (1UL << 40) | TIOCLINUX, &c), EPERM));
        CHECK(FAILS(ioctl(p[0], TIOCSETD, &n), EPERM));
        CHECK(ioctl(p[0], FIONREAD, &n) == 0 && n == 0);
        CHECK(FAILS(ioctl(p[0], TIOCGWINSZ, &ws), ENOTTY));
}

static bool personality_allowed(uint64_t x)
{
        return x == 0 || x == 0x8 || x == 0x20000 || x == 0x20008 || x == 0xffffffff;
}

static int try_personality(uint64_t x)
{
        errno = 0;
        long r = syscall(SYS_personality, x);
        bool denied = r < 0 && errno == EPERM;
        if (!denied)
                syscall(SYS_personality, 0UL);
        if (denied == !personality_allowed(x))
                return 0;
        dprintf(1, "#   personality(%#llx): %s\n", (unsigned long long) x, denied ? "denied" : "allowed");
        return 1;
}

static void c_personality(void)
{
        static const uint64_t allowed[] = { 0, 0x8, 0x20000, 0x20008, 0xffffffff };
        int bad = 0;

        apply_or_die(false);
        for (size_t i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++)
                bad += try_personality(allowed[i]);
        for (unsigned b = 0; b < 64; b++) {
                uint64_t bit = 1ULL << b;
                bad += try_personality(bit);
                bad += try_personality(0x20008 | bit);
                bad += try_personality(0xffffffff ^ (b < 32 ? bit : 0));
                bad += try_personality(0xffffffff | bit);
                for (unsigned c = 0; c < 32; c++)
                        bad += try_personality(0xffffffff & ~(1ULL << c) & ~(b < 32 ? bit : 0));
        }
        CHECK(bad == 0);
}

static int deny_all_calls(const char *name, void *ctx)
{
        int nr = syscall_nr(name), want = strcmp(name, "clone3") == 0 ? ENOSYS : EPERM;

        (void) ctx;
        if (nr < 0)
                return 0; /* not on this architecture */
        errno = 0;
        long r = syscall(nr, -1L, -1L, -1L, -1L, -1L, -1L);
        if (r < 0 && errno == want)
                return 0;
        dprintf(1, "#   %s: got %ld (%s), expected %s\n", name, r, strerror(errno), strerror(want));
        return 1;
}

/* Every row without a qualifier denies every call: try each with all-ones
 * arguments, which fail harmlessly (EFAULT, EBADF, EINVAL) when allowed. */
static void c_sweep(void)
{
        size_t n;
        const struct seccomp_rule_doc *r = seccomp_rules(&n);
        int bad = 0;

        setsid(); /* no controlling tty, so vhangup() could hang nothing up */
        apply_or_die(false);
        for (size_t i = 0; i < n; i++)
                if (!strchr(r[i].what, '('))
                        bad += each_name(r[i].what, deny_all_calls, NULL);
        CHECK(bad == 0);
}

static int thread_ran;

static void *thread_fn(void *arg)
{
        (void) arg;
        thread_ran = 1;
        return &thread_ran;
}

static void c_still_works(void)
{
        char *argv[] = { "true", NULL };
        pthread_t t;
        void *ret = NULL;
        pid_t pid;
        int status;

        CHECK(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0);
        CHECK(seccomp_apply(NULL) == 0);
        pid = fork();
        CHECK(pid >= 0);
        if (pid == 0)
                _exit(7);
        CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 7);
        /* glibc tries clone3 for threads and posix_spawn, then clone. */
        CHECK(pthread_create(&t, NULL, thread_fn, NULL) == 0);
        CHECK(pthread_join(t, &ret) == 0 && ret == &thread_ran && thread_ran == 1);
        CHECK(posix_spawnp(&pid, "true", NULL, NULL, argv, environ) == 0);
        CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0);
        CHECK(personality(0xffffffff) >= 0);
}

#if defined(__x86_64__)
static void c_i386(void)
{
        int r;

        apply_or_die(false);
        /* getpid through the i386 entry: a foreign ABI. */
        __asm__ volatile("int $0x80" : "=a"(r) : "a"(20) : "memory", "r8", "r9", "r10", "r11");
        _exit(r > 0 ? 200 : 201);
}

static void c_x32(void)
{
        apply_or_die(false);
        syscall(0x40000000 | SYS_getpid);
        _exit(200);
}
#endif

int main(void)
{
        t_rules();
        if (!seccomp_available()) {
                tap_skip("the kernel has no seccomp filter mode");
                return tap_done();
        }
        tap_ok(true, "seccomp_available()");

        tap_is_int(tap_run_child(c_no_nnp), 0, "without no_new_privs seccomp_apply refuses with -EPERM and loads nothing");
        tap_is_int(tap_run_child(c_namespaces), 0, "unshare, setns, clone(CLONE_NEW*) EPERM; clone3 ENOSYS");
        tap_is_int(tap_run_child(c_keys), 0, "keyctl, add_key EPERM");
        tap_is_int(tap_run_child(c_sockets), 0, "rare socket families EAFNOSUPPORT; unix, inet, inet6, netlink allowed");
        tap_is_int(tap_run_child(c_deny_inet), 0, "deny_inet: AF_INET, AF_INET6 EACCES, unix still allowed");
        tap_is_int(tap_run_child(c_ioctl), 0, "TIOCSTI (also with high bits), TIOCLINUX, TIOCSETD EPERM; other ioctls pass");
        tap_is_int(tap_run_child(c_personality), 0, "personality allows exactly 0, 0x8, 0x20000, 0x20008, 0xffffffff");
        tap_is_int(tap_run_child(c_sweep), 0, "every call of every unqualified row is denied");
        tap_is_int(tap_run_child(c_still_works), 0, "fork, pthread_create, posix_spawn still work");
#if defined(__x86_64__)
        tap_is_int(tap_run_child(c_i386), 1000 + SIGSYS, "an i386 syscall (int $0x80) kills the process");
        tap_is_int(tap_run_child(c_x32), 1000 + SIGSYS, "an x32 syscall kills the process");
#else
        tap_skip("foreign-ABI checks are written for x86_64");
#endif
        return tap_done();
}
