/* SPDX-License-Identifier: MIT */
/* The syscall filter: allow by default, deny the kernel surface a developer
 * tool never needs. The table below is the only list: `moat explain` and
 * docs/seccomp.md print it, and seccomp_apply() reads the syscall names out
 * of each row's `what`, so the docs cannot name a syscall the filter skips. */
#include <errno.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <seccomp.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "sandbox/seccomp.h"
#include "util/macro.h"

/* How a row picks the calls it denies, beyond the syscall number. */
enum match {
        MATCH_ALL,          /* every call */
        MATCH_ABI,          /* no syscall: the action for other ABIs */
        MATCH_CLONE_NS,     /* clone with any CLONE_NEW* flag */
        MATCH_PERSONALITY,  /* personality outside Docker's harmless set */
        MATCH_FAMILY,       /* address families other than the four we allow */
        MATCH_INET,         /* AF_INET, AF_INET6, only with deny_inet */
        MATCH_TTY_INJECT,   /* ioctl TIOCSTI, TIOCLINUX */
        MATCH_TTY_LDISC,    /* ioctl TIOCSETD */
        _MATCH_MAX,
};

/* R(match, errno, what, why). `what` begins with the syscall names, comma
 * separated, optionally followed by a qualifier in parentheses. */
#define SECCOMP_TABLE(R)                                                                                \
        R(MATCH_ABI, 0, "i386 and x32 syscalls (int $0x80, numbers with bit 30 set)",                  \
          "other ABIs number syscalls differently, so every rule here would miss them; the process is killed") \
        R(MATCH_ALL, EPERM, "unshare, setns",                                                          \
          "new or joined namespaces reach userns-root-only kernel code and could swap the sandbox's view") \
        R(MATCH_CLONE_NS, EPERM, "clone (with any CLONE_NEW* flag)",                                   \
          "the same namespaces through fork; fork, vfork and threads pass no CLONE_NEW* flag")          \
        R(MATCH_ALL, ENOSYS, "clone3",                                                                 \
          "its flags sit in memory seccomp cannot read; ENOSYS makes libc fall back to the checked clone") \
        R(MATCH_ALL, EPERM, "mount, umount, umount2, pivot_root, chroot",                              \
          "remounting or re-rooting could uncover what the sandbox's mounts hide or make read-only")   \
        R(MATCH_ALL, EPERM, "open_tree, open_tree_attr, move_mount, fsopen, fsconfig, fsmount, fspick, mount_setattr", \
          "the fd-based mount API does what mount does; missing it let Flatpak apps escape (CVE-2021-41133)") \
        R(MATCH_ALL, EPERM, "add_key, request_key, keyctl",                                            \
          "keyrings are not namespaced: the session keyring holds the user's credentials; long CVE history") \
        R(MATCH_ALL, EPERM, "bpf",                                                                     \
          "the eBPF verifier is a favourite kernel-exploit target, and BPF programs can observe the host") \
        R(MATCH_ALL, EPERM, "perf_event_open",                                                         \
          "large and CVE-heavy, gives side channels and kernel addresses; profile from outside instead") \
        R(MATCH_ALL, EPERM, "userfaultfd",                                                             \
          "lets an exploit pause the kernel mid-copy to win a race; no dev tool needs it")             \
        R(MATCH_ALL, EPERM, "io_uring_setup, io_uring_enter, io_uring_register",                       \
          "does I/O (even socket creation) out of seccomp's sight and is a frequent LPE source; libuv falls back") \
        R(MATCH_ALL, EPERM, "kexec_load, kexec_file_load, reboot",                                     \
          "replace or stop the running kernel; in a pid namespace reboot() kills the sandbox's init")   \
        R(MATCH_ALL, EPERM, "init_module, finit_module, delete_module",                                \
          "loading or unloading kernel code")                                                           \
        R(MATCH_ALL, EPERM, "iopl, ioperm",                                                            \
          "raw port I/O talks to hardware past every kernel check")                                     \
        R(MATCH_ALL, EPERM, "modify_ldt",                                                              \
          "16-bit segment descriptors: a historic source of kernel bugs, needed only by Wine and DOSEMU") \
        R(MATCH_ALL, EPERM, "swapon, swapoff, acct, quotactl, quotactl_fd, vhangup, sethostname, setdomainname", \
          "host administration (swap, accounting, quotas, tty hangup, host name) no tool does")         \
        R(MATCH_ALL, EPERM, "syslog",                                                                  \
          "the kernel log leaks kernel addresses (defeating KASLR) and what else runs on the host")     \
        R(MATCH_ALL, EPERM, "settimeofday, clock_settime, clock_adjtime, adjtimex",                    \
          "the wall clock is host-wide, not namespaced (adjtimex's read-only query goes too)")          \
        R(MATCH_ALL, EPERM, "name_to_handle_at, open_by_handle_at",                                    \
          "file handles open files by inode, skipping the path walk mounts and Landlock confine (\"shocker\")") \
        R(MATCH_ALL, EPERM, "kcmp, process_madvise",                                                   \
          "compare or reclaim other processes' kernel objects; only checkpoint/restore and memory managers do") \
        R(MATCH_ALL, EPERM, "mbind, get_mempolicy, set_mempolicy, set_mempolicy_home_node, migrate_pages, move_pages", \
          "NUMA placement can move other processes' pages and has had many bugs; runtimes treat EPERM as no NUMA") \
        R(MATCH_ALL, EPERM, "fanotify_init",                                                           \
          "whole-filesystem event monitoring; dev tools watch files with inotify, which stays allowed") \
        R(MATCH_ALL, EPERM, "uselib, ustat, sysfs, _sysctl, nfsservctl, lookup_dcookie",               \
          "obsolete interfaces nothing current calls: rarely tested kernel code")                      \
        R(MATCH_PERSONALITY, EPERM, "personality (except 0, 0x8, 0x20000, 0x20008, 0xffffffff)",       \
          "other domains and flags like READ_IMPLIES_EXEC or ADDR_NO_RANDOMIZE weaken exploit mitigations") \
        R(MATCH_FAMILY, EAFNOSUPPORT, "socket, socketpair (families other than AF_UNIX, AF_INET, AF_INET6, AF_NETLINK)", \
          "packet, vsock, bluetooth, alg, key...: drivers and autoloaded modules where socket CVEs live") \
        R(MATCH_INET, EACCES, "socket, socketpair (AF_INET, AF_INET6, only with --net none and no netns)", \
          "without a network namespace this is what removes the network; EACCES reads as refused")      \
        R(MATCH_TTY_INJECT, EPERM, "ioctl (TIOCSTI, TIOCLINUX; low 32 bits of the request)",           \
          "both type into the user's terminal, running commands outside the sandbox (CVE-2017-5226)")   \
        R(MATCH_TTY_LDISC, EPERM, "ioctl (TIOCSETD; low 32 bits of the request)",                      \
          "a new line discipline autoloads rarely used tty code with LPE history (n_hdlc, n_gsm)")

#define DOC(m, e, w, y) { .what = (w), .why = (y) },
#define HOW(m, e, w, y) { .match = (m), .err = (e) },
static const struct seccomp_rule_doc docs[] = { SECCOMP_TABLE(DOC) };
static const struct how {
        enum match match;
        int err;
} hows[] = { SECCOMP_TABLE(HOW) };
#undef DOC
#undef HOW

const struct seccomp_rule_doc *seccomp_rules(size_t *ret_n)
{
        if (ret_n)
                *ret_n = ARRAY_SIZE(docs);
        return docs;
}

static void filter_releasep(scmp_filter_ctx *ctx)
{
        if (*ctx)
                seccomp_release(*ctx);
}

/* Syscalls newer than libseccomp 2.5's tables. Since Linux 5.1 a new syscall
 * gets the same number on x86_64 and on every asm-generic architecture. */
static int newer_syscall(const char *name)
{
#if defined(__x86_64__) || defined(__aarch64__)
        if (strcmp(name, "open_tree_attr") == 0)
                return 467;
#else
        (void) name;
#endif
        return -1;
}

/* Negative when the syscall does not exist on this architecture (umount on
 * x86_64 resolves to a negative pseudo-number): that rule is skipped. */
static int syscall_nr(const char *name)
{
        int nr = seccomp_syscall_resolve_name(name);
        return nr == __NR_SCMP_ERROR ? newer_syscall(name) : nr;
}

static int deny_clone_ns(scmp_filter_ctx ctx, uint32_t act, int nr)
{
        /* The kernel reads only the low 32 bits of clone's flags, and
         * CLONE_NEWTIME (0x80) lies in the exit-signal byte there, so it
         * cannot be asked for through clone. One rule per flag: libseccomp
         * has no "masked not-equal". */
        static const uint64_t flags[] = {
                CLONE_NEWNS, CLONE_NEWCGROUP, CLONE_NEWUTS, CLONE_NEWIPC,
                CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET,
        };
        for (size_t i = 0; i < ARRAY_SIZE(flags); i++) {
                int r = seccomp_rule_add(ctx, act, nr, 1, SCMP_A0_64(SCMP_CMP_MASKED_EQ, flags[i], flags[i]));
                if (r < 0)
                        return r;
        }
        return 0;
}

/* Deny personality(x) unless x is 0, PER_LINUX32, UNAME26, both, or the
 * 0xffffffff query. libseccomp refuses two comparisons on one argument in
 * a rule, so "x not in the set" is built as an OR of single masked compares:
 *   - x > 0xffffffff (the kernel truncates to 32 bits; libc never sends more);
 *   - call the 30 low bits other than 0x8 and 0x20000 "stray". For each stray
 *     bit s[i] in a cycle: s[i] set and s[i+1] clear;
 *   - s[0] set and 0x8 clear; s[0] set and 0x20000 clear.
 * A denied x < 2^32 has a stray bit set and, not being 0xffffffff, a bit
 * clear. If some stray bit is clear, going round the cycle from a set one
 * meets a set bit followed by a clear one; if none is, s[0] is set and 0x8 or
 * 0x20000 is clear. The allowed values match nothing: the four small ones
 * have no stray bit set, the query has no bit clear. */
static int deny_personality(scmp_filter_ctx ctx, uint32_t act, int nr)
{
        const uint64_t keep[] = { 0x0008 /* PER_LINUX32 */, 0x20000 /* UNAME26 */ };
        uint64_t stray[32];
        size_t n = 0;
        int r;

        for (unsigned b = 0; b < 32; b++)
                if ((1ULL << b) != keep[0] && (1ULL << b) != keep[1])
                        stray[n++] = 1ULL << b;

        r = seccomp_rule_add(ctx, act, nr, 1, SCMP_A0_64(SCMP_CMP_GT, 0xffffffffULL));
        for (size_t i = 0; r >= 0 && i < n; i++) {
                uint64_t next = stray[(i + 1) % n];
                r = seccomp_rule_add(ctx, act, nr, 1, SCMP_A0_64(SCMP_CMP_MASKED_EQ, stray[i] | next, stray[i]));
        }
        for (size_t i = 0; r >= 0 && i < ARRAY_SIZE(keep); i++)
                r = seccomp_rule_add(ctx, act, nr, 1, SCMP_A0_64(SCMP_CMP_MASKED_EQ, stray[0] | keep[i], stray[0]));
        return r;
}

/* The family is an int: a value above AF_NETLINK, including one with junk in
 * the upper 32 bits that the kernel would drop, is denied (libc sends none). */
static int deny_families(scmp_filter_ctx ctx, uint32_t act, int nr)
{
        int r;

        for (uint64_t f = 0; f <= AF_NETLINK; f++) {
                if (f == AF_UNIX || f == AF_INET || f == AF_INET6 || f == AF_NETLINK)
                        continue;
                r = seccomp_rule_add(ctx, act, nr, 1, SCMP_A0_64(SCMP_CMP_EQ, f));
                if (r < 0)
                        return r;
        }
        return seccomp_rule_add(ctx, act, nr, 1, SCMP_A0_64(SCMP_CMP_GT, (uint64_t) AF_NETLINK));
}

/* The kernel's ioctl takes `unsigned int cmd`: 0x100005412 is TIOCSTI to it
 * (CVE-2019-10063 bypassed Flatpak that way), so compare the low 32 bits. */
static int deny_ioctl(scmp_filter_ctx ctx, uint32_t act, int nr, unsigned long cmd)
{
        return seccomp_rule_add(ctx, act, nr, 1, SCMP_A1_64(SCMP_CMP_MASKED_EQ, 0xffffffffULL, (uint64_t) cmd));
}

static int add_rules(scmp_filter_ctx ctx, const struct how *how, int nr)
{
        uint32_t act = SCMP_ACT_ERRNO(how->err);
        int r;

        switch (how->match) {
        case MATCH_ALL:
                return seccomp_rule_add(ctx, act, nr, 0);
        case MATCH_CLONE_NS:
                return deny_clone_ns(ctx, act, nr);
        case MATCH_PERSONALITY:
                return deny_personality(ctx, act, nr);
        case MATCH_FAMILY:
                return deny_families(ctx, act, nr);
        case MATCH_INET:
                r = seccomp_rule_add(ctx, act, nr, 1, SCMP_A0_64(SCMP_CMP_EQ, (uint64_t) AF_INET));
                return r < 0 ? r : seccomp_rule_add(ctx, act, nr, 1, SCMP_A0_64(SCMP_CMP_EQ, (uint64_t) AF_INET6));
        case MATCH_TTY_INJECT:
                r = deny_ioctl(ctx, act, nr, TIOCSTI);
                return r < 0 ? r : deny_ioctl(ctx, act, nr, TIOCLINUX);
        case MATCH_TTY_LDISC:
                return deny_ioctl(ctx, act, nr, TIOCSETD);
        case MATCH_ABI:
        case _MATCH_MAX:
                break;
        }
        return -EINVAL;
}

static int add_row(scmp_filter_ctx ctx, const struct seccomp_rule_doc *doc, const struct how *how,
                   const struct seccomp_options *o)
{
        char names[256], *save = NULL;
        size_t len;

        if (how->match == MATCH_ABI)
                /* seccomp_init() adds only the native ABI, so an i386 call
                 * (int $0x80) or an x32 one (nr | 0x40000000, which libseccomp
                 * checks on x86_64) lands here. Kill rather than EPERM: nothing
                 * a 64-bit tool runs makes them, and a 32-bit binary given
                 * EPERM for everything, exit() included, would spin. */
                return seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
        if (how->match == MATCH_INET && !o->deny_inet)
                return 0;

        len = strcspn(doc->what, "(");
        if (len >= sizeof(names))
                return -EINVAL;
        memcpy(names, doc->what, len);
        names[len] = '\0';

        for (char *name = strtok_r(names, ", ", &save); name; name = strtok_r(NULL, ", ", &save)) {
                int nr = syscall_nr(name), r;
                if (nr < 0)
                        continue;
                r = add_rules(ctx, how, nr);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int build(const struct seccomp_options *o, scmp_filter_ctx *ret)
{
        _cleanup_(filter_releasep) scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
        int r;

        if (!ctx)
                return -ENOMEM;
        r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
        if (r < 0)
                return r;
        /* The kernel's errno from seccomp_load(), not libseccomp's -ECANCELED. */
        r = seccomp_attr_set(ctx, SCMP_FLTATR_API_SYSRAWRC, 1);
        if (r < 0)
                return r;

        for (size_t i = 0; i < ARRAY_SIZE(docs); i++) {
                r = add_row(ctx, &docs[i], &hows[i], o);
                if (r < 0)
                        return r;
        }
        *ret = TAKE_PTR(ctx);
        return 0;
}

int seccomp_export(const struct seccomp_options *o, int fd)
{
        _cleanup_(filter_releasep) scmp_filter_ctx ctx = NULL;
        int r = build(o, &ctx);
        return r < 0 ? r : seccomp_export_bpf(ctx, fd);
}

#ifdef MOAT_SECCOMP_PRECOMPILED
#include "seccomp-bpf.h"

/* The same filter, compiled by libseccomp at build time (gen-seccomp):
 * generating it costs about a millisecond per run, loading it a few
 * microseconds. A kernel that refuses it (older API level than the build
 * machine's) gets the filter built at run time instead. */
static int load_precompiled(const struct seccomp_options *o)
{
        const struct sock_filter *f = o->deny_inet ? seccomp_bpf_deny_inet : seccomp_bpf_default;
        size_t n = o->deny_inet ? ARRAY_SIZE(seccomp_bpf_deny_inet) : ARRAY_SIZE(seccomp_bpf_default);
        struct sock_fprog prog = { .len = (unsigned short)n, .filter = (struct sock_filter *)f };
        return syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) < 0 ? negerrno() : 0;
}
#endif

int seccomp_apply(const struct seccomp_options *o)
{
        static const struct seccomp_options defaults = { 0 };
        _cleanup_(filter_releasep) scmp_filter_ctx ctx = NULL;
        int r;

        if (!o)
                o = &defaults;

        /* Without no_new_privs only CAP_SYS_ADMIN may load a filter, and a
         * setuid exec would then run privileged under rules it never
         * expected. libseccomp would set it quietly; it is the caller's step,
         * at its place in the order, so refuse instead. */
        r = prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0);
        if (r < 0)
                return negerrno();
        if (r != 1)
                return -EPERM;
#ifdef MOAT_SECCOMP_PRECOMPILED
        if (load_precompiled(o) == 0)
                return 0;
#endif
        r = build(o, &ctx);
        if (r < 0)
                return r;
        return seccomp_load(ctx);
}

bool seccomp_available(void)
{
        uint32_t action = SECCOMP_RET_KILL_PROCESS;

        /* EINVAL: no CONFIG_SECCOMP. Under a container's filter this says 2,
         * which is fine: filters stack. */
        if (prctl(PR_GET_SECCOMP, 0, 0, 0, 0) < 0)
                return false;
        /* Filter mode, plus the kill-process action the filter uses (4.14). */
        return syscall(SYS_seccomp, SECCOMP_GET_ACTION_AVAIL, 0, &action) == 0;
}
