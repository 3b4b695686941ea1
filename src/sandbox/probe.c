/* SPDX-License-Identifier: MIT */
/* What this kernel and system allow. Everything here is a read or a call
 * that changes nothing on the host: the namespace and overlay tests run in
 * a forked child whose namespaces die with it. */
#include "sandbox/probe.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sandbox/landlock.h"
#include "sandbox/seccomp.h"
#include "util/macro.h"

/* These numbers are the same on every architecture but alpha (the syscall
 * table was unified before they were added); older libc headers lack them. */
#ifndef SYS_open_tree
#define SYS_open_tree 428
#endif
#ifndef SYS_move_mount
#define SYS_move_mount 429
#endif
#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_openat2
#define SYS_openat2 437
#endif
#ifndef SYS_mount_setattr
#define SYS_mount_setattr 442
#endif

#define PROBE_OPEN_TREE_CLOEXEC O_CLOEXEC

/* Reads a small non-negative integer sysctl. -ENOENT when the knob does not
 * exist on this kernel, which callers treat as "does not restrict". */
static int read_sysctl(const char *path, long *ret)
{
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return negerrno();
        char buf[32];
        ssize_t n = RETRY_EINTR(read(fd, buf, sizeof buf - 1));
        if (n < 0)
                return negerrno();
        buf[n] = '\0';
        char *end;
        errno = 0;
        long v = strtol(buf, &end, 10);
        if (errno || end == buf)
                return -EINVAL;
        *ret = v;
        return 0;
}

static int write_file(const char *path, const char *s)
{
        _cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return negerrno();
        size_t len = strlen(s);
        ssize_t n = RETRY_EINTR(write(fd, s, len));
        if (n < 0)
                return negerrno();
        return (size_t)n == len ? 0 : -EIO;
}

/* Steps the forked probes report back, so the message can say which one
 * failed: EPERM from unshare and EPERM from the uid map have different
 * causes and different fixes. */
enum probe_step {
        STEP_NONE,
        STEP_UNSHARE,
        STEP_SETGROUPS,
        STEP_UID_MAP,
        STEP_GID_MAP,
        STEP_PRIVATE,
        STEP_TMPFS,
        STEP_MKDIR,
        STEP_OVERLAY,
        STEP_WRITE,
        STEP_MAX,
};

static const char *step_name(enum probe_step s)
{
        switch (s) {
        case STEP_NONE: return "starting the test";
        case STEP_UNSHARE: return "unshare(CLONE_NEWUSER)";
        case STEP_SETGROUPS: return "denying setgroups";
        case STEP_UID_MAP: return "setting up uid map";
        case STEP_GID_MAP: return "setting up gid map";
        case STEP_PRIVATE: return "making / private";
        case STEP_TMPFS: return "mounting tmpfs";
        case STEP_MKDIR: return "creating overlay directories";
        case STEP_OVERLAY: return "mounting overlayfs";
        case STEP_WRITE: return "writing through overlayfs";
        case STEP_MAX: break;
        }
        return "?";
}

struct probe_result {
        int step; /* enum probe_step that failed, STEP_NONE on success */
        int err;  /* positive errno */
};

/* In the child: a user namespace (plus extra_flags) mapping only our own
 * ids, as an unprivileged user can. This is exactly where Ubuntu's AppArmor
 * restriction bites: unshare succeeds, but the new namespace holds no
 * capabilities, so writing uid_map fails with EPERM. */
static int child_enter_userns(int extra_flags, struct probe_result *r)
{
        uid_t uid = geteuid();
        gid_t gid = getegid();
        char map[64];

        if (unshare(CLONE_NEWUSER | extra_flags) < 0) {
                *r = (struct probe_result){ STEP_UNSHARE, errno };
                return -1;
        }
        /* Without "deny" an unprivileged writer may not set gid_map (the
         * setgroups hole of CVE-2014-8989). */
        int e = write_file("/proc/self/setgroups", "deny");
        if (e < 0 && e != -ENOENT) {
                *r = (struct probe_result){ STEP_SETGROUPS, -e };
                return -1;
        }
        snprintf(map, sizeof map, "%u %u 1", (unsigned)uid, (unsigned)uid);
        e = write_file("/proc/self/uid_map", map);
        if (e < 0) {
                *r = (struct probe_result){ STEP_UID_MAP, -e };
                return -1;
        }
        snprintf(map, sizeof map, "%u %u 1", (unsigned)gid, (unsigned)gid);
        e = write_file("/proc/self/gid_map", map);
        if (e < 0) {
                *r = (struct probe_result){ STEP_GID_MAP, -e };
                return -1;
        }
        return 0;
}

static int child_overlay(struct probe_result *r)
{
        if (child_enter_userns(CLONE_NEWNS, r) < 0)
                return -1;
        /* Private first, so nothing we mount can propagate back to the host
         * even if / is a shared mount. */
        if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) {
                *r = (struct probe_result){ STEP_PRIVATE, errno };
                return -1;
        }
        /* A fresh tmpfs shadows the host's /tmp in this mount namespace only:
         * the directories below never touch a host filesystem. */
        if (mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "size=1m,mode=0700") < 0) {
                *r = (struct probe_result){ STEP_TMPFS, errno };
                return -1;
        }
        static const char *const dirs[] = { "/tmp/l", "/tmp/u", "/tmp/w", "/tmp/m" };
        for (size_t i = 0; i < ARRAY_SIZE(dirs); i++)
                if (mkdir(dirs[i], 0700) < 0) {
                        *r = (struct probe_result){ STEP_MKDIR, errno };
                        return -1;
                }
        if (mount("overlay", "/tmp/m", "overlay", MS_NOSUID | MS_NODEV,
                  "lowerdir=/tmp/l,upperdir=/tmp/u,workdir=/tmp/w") < 0) {
                *r = (struct probe_result){ STEP_OVERLAY, errno };
                return -1;
        }
        /* A mount that then refuses writes (missing xattr support on the
         * upper layer) is no use to us; make sure a file lands in upper. */
        _cleanup_close_ int fd = open("/tmp/m/probe", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd < 0 || access("/tmp/u/probe", F_OK) < 0) {
                *r = (struct probe_result){ STEP_WRITE, errno };
                return -1;
        }
        return 0;
}

enum probe_kind { PROBE_USERNS, PROBE_OVERLAY };

/* Runs a test in a forked child and collects its result over a pipe. A
 * child killed by a signal (a seccomp filter with a kill action) reports
 * as STEP_NONE with err = -signal. Returns 0 when the test passed. */
static int run_child_probe(enum probe_kind kind, struct probe_result *ret)
{
        int p[2];
        *ret = (struct probe_result){ STEP_NONE, 0 };
        if (pipe2(p, O_CLOEXEC) < 0) {
                *ret = (struct probe_result){ STEP_NONE, errno };
                return -1;
        }
        pid_t pid = fork();
        if (pid < 0) {
                *ret = (struct probe_result){ STEP_NONE, errno };
                close(p[0]);
                close(p[1]);
                return -1;
        }
        if (pid == 0) {
                struct probe_result r = { STEP_NONE, 0 };
                close(p[0]);
                int rc = kind == PROBE_USERNS ? child_enter_userns(0, &r) : child_overlay(&r);
                (void)!write(p[1], &r, sizeof r);
                _exit(rc < 0 ? 1 : 0);
        }
        close(p[1]);
        struct probe_result r = { STEP_NONE, 0 };
        ssize_t n = RETRY_EINTR(read(p[0], &r, sizeof r));
        close(p[0]);
        int status;
        if (RETRY_EINTR(waitpid(pid, &status, 0)) < 0) {
                *ret = (struct probe_result){ STEP_NONE, errno };
                return -1;
        }
        if (WIFSIGNALED(status)) {
                *ret = (struct probe_result){ r.step, -WTERMSIG(status) };
                return -1;
        }
        if (n != (ssize_t)sizeof r) {
                *ret = (struct probe_result){ STEP_NONE, EIO };
                return -1;
        }
        *ret = r;
        return WIFEXITED(status) && WEXITSTATUS(status) == 0 && r.step == STEP_NONE ? 0 : -1;
}

/* Which container engine we are in, if any: its default profiles are the
 * usual reason user namespaces fail where the host allows them. */
static const char *container_engine(void)
{
        if (access("/.dockerenv", F_OK) == 0)
                return "docker";
        if (access("/run/.containerenv", F_OK) == 0)
                return "podman";
        /* Set by systemd-nspawn, LXC and others. It comes from the
         * environment, so only a plain name goes into the message. */
        const char *c = getenv("container");
        if (!c || !*c)
                return NULL;
        if (strlen(c) > 32 || strspn(c, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.") != strlen(c))
                return "unknown";
        return c;
}

static void container_hint(const char *engine, char *buf, size_t size)
{
        if (strcmp(engine, "docker") == 0)
                snprintf(buf, size,
                         "inside Docker: start the container with --security-opt seccomp=unconfined "
                         "--security-opt apparmor=unconfined (or a seccomp profile allowing unshare "
                         "and clone with CLONE_NEWUSER)");
        else if (strcmp(engine, "podman") == 0)
                snprintf(buf, size,
                         "inside podman: start the container with --security-opt seccomp=unconfined "
                         "(or a profile allowing unshare with CLONE_NEWUSER), plus "
                         "--security-opt label=disable on SELinux hosts");
        else
                snprintf(buf, size,
                         "inside a container (%s): its seccomp or LSM profile must allow unshare "
                         "and clone with CLONE_NEWUSER",
                         engine);
}

/* True when path is safe to paste into a single-quoted shell string and an
 * AppArmor profile header unquoted. */
static bool plain_path(const char *path)
{
        if (path[0] != '/')
                return false;
        for (const char *p = path; *p; p++)
                if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                      (*p >= '0' && *p <= '9') || strchr("/._+-", *p)))
                        return false;
        return true;
}

/* The AppArmor profile Ubuntu documents for programs that need user
 * namespaces: unconfined apart from the explicit userns grant. AppArmor
 * attaches by the real executable path, hence /proc/self/exe. */
static void apparmor_reason(const char *detail, char *reason, size_t size)
{
        char exe[256];
        ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
        if (n > 0)
                exe[n] = '\0';
        if (n <= 0 || !plain_path(exe))
                snprintf(exe, sizeof exe, "/usr/local/bin/moat");
        int len = snprintf(reason, size,
                 "user namespaces are restricted by AppArmor "
                 "(kernel.apparmor_restrict_unprivileged_userns=1): %s\n"
                 "fix: printf 'abi <abi/4.0>,\\ninclude <tunables/global>\\nprofile moat %s "
                 "flags=(unconfined) {\\n  userns,\\n}\\n' | sudo tee /etc/apparmor.d/moat && "
                 "sudo apparmor_parser -r /etc/apparmor.d/moat "
                 "(or for every program: sudo sysctl -w kernel.apparmor_restrict_unprivileged_userns=0)",
                 detail, exe);
        /* A long path can push the system-wide alternative out of the
         * buffer; the profile is the better fix, so drop the alternative. */
        if (len >= 0 && (size_t)len >= size)
                snprintf(reason, size,
                         "user namespaces are restricted by AppArmor: %s\n"
                         "fix: printf 'abi <abi/4.0>,\\ninclude <tunables/global>\\nprofile moat %s "
                         "flags=(unconfined) {\\n  userns,\\n}\\n' | sudo tee /etc/apparmor.d/moat && "
                         "sudo apparmor_parser -r /etc/apparmor.d/moat",
                         detail, exe);
}

static void sysctl_reason(const char *what, const char *key, const char *value,
                          char *reason, size_t size)
{
        snprintf(reason, size,
                 "%s\nfix: sudo sysctl -w %s=%s (to keep it after a reboot: "
                 "echo %s=%s | sudo tee /etc/sysctl.d/50-moat.conf)",
                 what, key, value, key, value);
}

/* Turns a failed child test into why + fix. */
#define DEBIAN_OFF "unprivileged user namespaces are disabled (kernel.unprivileged_userns_clone=0)"

static void failure_reason(const struct probe_result *r, bool debian_off, bool apparmor_restricts,
                           char *reason, size_t size)
{
        char what[160], detail[96], hint[256];
        const char *engine = container_engine();

        snprintf(detail, sizeof detail, "%s: %s", step_name(r->step), r->err > 0 ? strerror(r->err) : "killed");

        if (r->err == -SIGSYS)
                snprintf(what, sizeof what, "user namespaces are blocked: the test was killed by SIGSYS, "
                         "a seccomp filter forbids unshare(CLONE_NEWUSER)");
        else if (r->err < 0)
                snprintf(what, sizeof what, "user namespaces are not usable: the test was killed by signal %d",
                         -r->err);
        else
                snprintf(what, sizeof what, "user namespaces are not usable: %s", detail);

        bool map_step = r->step == STEP_SETGROUPS || r->step == STEP_UID_MAP || r->step == STEP_GID_MAP;
        if (apparmor_restricts && map_step && (r->err == EPERM || r->err == EACCES)) {
                apparmor_reason(detail, reason, size);
                return;
        }
        if (r->step == STEP_UNSHARE && r->err == EPERM && debian_off) {
                sysctl_reason(DEBIAN_OFF, "kernel.unprivileged_userns_clone", "1", reason, size);
                return;
        }
        if (r->step == STEP_UNSHARE && r->err == ENOSPC) {
                sysctl_reason("user namespaces are not usable: the limit user.max_user_namespaces "
                              "is used up", "user.max_user_namespaces", "15000", reason, size);
                return;
        }
        if (r->step == STEP_UNSHARE && r->err == EUSERS) {
                snprintf(reason, size, "%s\nmoat is already nested 32 user namespaces deep; "
                         "run it from an outer level", what);
                return;
        }
        if (r->step == STEP_UNSHARE && r->err == EINVAL) {
                snprintf(reason, size, "%s\nthe kernel is built without CONFIG_USER_NS; "
                         "use a kernel with user namespaces", what);
                return;
        }
        if (engine) {
                container_hint(engine, hint, sizeof hint);
                snprintf(reason, size, "%s\n%s", what, hint);
                return;
        }
        if (r->step == STEP_UNSHARE && (r->err == EPERM || r->err < 0))
                snprintf(reason, size, "%s\na seccomp filter (a systemd unit's RestrictNamespaces=, "
                         "another sandbox) or a chroot forbids it; run moat outside that confinement",
                         what);
        else if (map_step && (r->err == EPERM || r->err == EACCES))
                snprintf(reason, size, "%s\na security module (AppArmor, SELinux) denies the mapping; "
                         "allow user namespaces for moat in its policy", what);
        else
                snprintf(reason, size, "%s", what);
}

bool probe_userns(char *reason, size_t size)
{
        long v;
        bool root = geteuid() == 0;
        char scratch[512];

        if (!reason || size == 0) {
                reason = scratch;
                size = sizeof scratch;
        }
        reason[0] = '\0';

        /* The sysctls decide most refusals without a fork. Missing knobs
         * (-ENOENT) are kernels that lack the restriction. */
        if (read_sysctl("/proc/sys/user/max_user_namespaces", &v) == 0 && v == 0) {
                sysctl_reason("user namespaces are disabled (user.max_user_namespaces=0)",
                              "user.max_user_namespaces", "15000", reason, size);
                return false;
        }
        /* Debian's own knob holds back callers without CAP_SYS_ADMIN in the
         * initial namespace. euid 0 inside someone else's user namespace is
         * not that, so for root the test below decides and this picks the
         * message. */
        bool debian_off = read_sysctl("/proc/sys/kernel/unprivileged_userns_clone", &v) == 0 && v == 0;
        if (debian_off && !root) {
                sysctl_reason(DEBIAN_OFF, "kernel.unprivileged_userns_clone", "1", reason, size);
                return false;
        }
        /* Ubuntu 23.10+: this sysctl alone does not decide, because a profile
         * granting `userns,` to moat lifts the restriction for us; the test
         * below tells the two apart, and the sysctl picks the message. */
        bool apparmor_restricts =
                read_sysctl("/proc/sys/kernel/apparmor_restrict_unprivileged_userns", &v) == 0 && v == 1;

        /* Container seccomp profiles and LSM denials only show when trying. */
        struct probe_result r;
        if (run_child_probe(PROBE_USERNS, &r) == 0)
                return true;
        failure_reason(&r, debian_off, apparmor_restricts, reason, size);
        return false;
}

static bool probe_openat2(void)
{
        struct open_how how = { .flags = O_PATH | O_CLOEXEC };
        int fd = (int)syscall(SYS_openat2, AT_FDCWD, "/", &how, sizeof how);
        if (fd < 0)
                return false;
        close(fd);
        return true;
}

/* open_tree without OPEN_TREE_CLONE is just an O_PATH open that needs no
 * privilege. move_mount and mount_setattr are called with invalid
 * arguments that change nothing; an unprivileged caller gets EPERM from
 * move_mount before the arguments are looked at (it will have the
 * privilege inside its user namespace), so only ENOSYS means missing. */
static bool probe_mount_api(void)
{
        int fd = (int)syscall(SYS_open_tree, AT_FDCWD, "/", PROBE_OPEN_TREE_CLOEXEC);
        if (fd < 0)
                return false;
        close(fd);
        if (syscall(SYS_move_mount, -1, "", -1, "", ~0u) < 0 && errno == ENOSYS)
                return false;
        if (syscall(SYS_mount_setattr, -1, "", ~0u, NULL, (size_t)0) < 0 && errno == ENOSYS)
                return false;
        return true;
}

static bool probe_pidfd(void)
{
        int fd = (int)syscall(SYS_pidfd_open, getpid(), 0);
        if (fd < 0)
                return false;
        close(fd);
        return true;
}

static bool probe_overlayfs(void)
{
        struct probe_result r;
        return run_child_probe(PROBE_OVERLAY, &r) == 0;
}

void probe_system(struct system_facts *f)
{
        struct utsname u;

        *f = (struct system_facts){ 0 };
        if (uname(&u) == 0)
                snprintf(f->kernel, sizeof f->kernel, "%s", u.release);
        else
                snprintf(f->kernel, sizeof f->kernel, "unknown");

        f->userns = probe_userns(f->userns_reason, sizeof f->userns_reason);
        f->landlock_abi = landlock_abi();
        f->seccomp = seccomp_available();
        f->openat2 = probe_openat2();
        f->mount_api = probe_mount_api();
        f->pidfd = probe_pidfd();
        /* Without a user namespace there is nothing to mount it in. */
        f->overlayfs = f->userns && probe_overlayfs();
        cgroup_probe("/sys/fs/cgroup", "/proc/self/cgroup", &f->cgroup);
}

enum protection_level probe_level(const struct system_facts *f)
{
        bool landlock = f->landlock_abi > 0;
        if (!f->seccomp)
                return PROTECTION_NONE;
        if (f->userns && landlock)
                return PROTECTION_FULL;
        if (f->userns)
                return PROTECTION_NO_LANDLOCK;
        if (landlock)
                return PROTECTION_LANDLOCK_ONLY;
        return PROTECTION_NONE;
}

const char *probe_level_name(enum protection_level l)
{
        static const char *const names[_PROTECTION_MAX] = {
                [PROTECTION_FULL] = "full",
                [PROTECTION_NO_LANDLOCK] = "no-landlock",
                [PROTECTION_LANDLOCK_ONLY] = "landlock-only",
                [PROTECTION_NONE] = "none available",
        };
        return l < _PROTECTION_MAX ? names[l] : "none available";
}

const char *probe_limits_name(const struct system_facts *f)
{
        switch (f->cgroup.kind) {
        case CGROUP_V2: return "cgroup v2";
        case CGROUP_V1: return "cgroup v1";
        case CGROUP_NONE:
        case CGROUP_KIND_MAX: break;
        }
        return "rlimits";
}

/* An empty reason is written as null. */
static const char *or_null(const char *s)
{
        return s && *s ? s : NULL;
}

void probe_facts_json(const struct system_facts *f, const char *key, struct json *j)
{
        static const char *const kinds[CGROUP_KIND_MAX] = {
                [CGROUP_NONE] = "none", [CGROUP_V2] = "v2", [CGROUP_V1] = "v1",
        };
        const struct cgroup_info *c = &f->cgroup;
        if (key)
                json_key_object(j, key);
        else
                json_begin_object(j);
        json_str(j, "kernel", or_null(f->kernel));
        json_key_object(j, "userns");
        json_bool(j, "available", f->userns);
        json_str(j, "reason", f->userns ? NULL : or_null(f->userns_reason));
        json_end_object(j);
        json_int(j, "landlock_abi", f->landlock_abi > 0 ? f->landlock_abi : 0);
        json_bool(j, "seccomp", f->seccomp);
        json_bool(j, "openat2", f->openat2);
        json_bool(j, "mount_api", f->mount_api);
        json_bool(j, "pidfd", f->pidfd);
        json_bool(j, "overlayfs", f->overlayfs);
        json_key_object(j, "cgroup");
        json_str(j, "kind", c->kind < CGROUP_KIND_MAX ? kinds[c->kind] : "none");
        json_bool(j, "memory", c->memory);
        json_bool(j, "pids", c->pids);
        json_bool(j, "cpu", c->cpu);
        json_str(j, "reason", or_null(c->reason));
        json_end_object(j);
        json_str(j, "limits", probe_limits_name(f));
        json_str(j, "level", probe_level_name(probe_level(f)));
        json_end_object(j);
}
