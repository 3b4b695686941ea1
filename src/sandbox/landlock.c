/* SPDX-License-Identifier: MIT */
/* Landlock through the raw syscalls. The ruleset handles every filesystem
 * right the running kernel knows, so anything not granted by a rule below is
 * denied everywhere, including on paths the mount namespace forgot about.
 * Network rights are left unhandled on purpose: the network namespace (or the
 * explicit --net=host opt-out) is what decides about the network. */
#include "sandbox/landlock.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/landlock.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "util/macro.h"

/* Debian 12 ships the kernel 6.1 uapi header (ABI 2); the later constants
 * are stable kernel ABI, so define them here. */
#ifndef LANDLOCK_ACCESS_FS_REFER
#define LANDLOCK_ACCESS_FS_REFER (1ULL << 13)     /* ABI 2 */
#endif
#ifndef LANDLOCK_ACCESS_FS_TRUNCATE
#define LANDLOCK_ACCESS_FS_TRUNCATE (1ULL << 14)  /* ABI 3 */
#endif
#ifndef LANDLOCK_ACCESS_NET_BIND_TCP               /* ABI 4; never handled, see above */
#define LANDLOCK_ACCESS_NET_BIND_TCP (1ULL << 0)
#define LANDLOCK_ACCESS_NET_CONNECT_TCP (1ULL << 1)
#endif
#ifndef LANDLOCK_ACCESS_FS_IOCTL_DEV
#define LANDLOCK_ACCESS_FS_IOCTL_DEV (1ULL << 15) /* ABI 5 */
#endif
#ifndef LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET        /* ABI 6 */
#define LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET (1ULL << 0)
#define LANDLOCK_SCOPE_SIGNAL (1ULL << 1)
#endif
#ifndef LANDLOCK_CREATE_RULESET_VERSION
#define LANDLOCK_CREATE_RULESET_VERSION (1U << 0)
#endif

/* The newest ABI whose filesystem rights and scopes this file knows. ABI 7
 * only added audit-log flags, which the defaults already suit. A newer
 * kernel is used at this level: rights we cannot name stay unhandled, which
 * is the kernel's documented backward-compatible behaviour. */
#define LL_ABI_KNOWN 7

/* Our own copy of the attribute struct: the old header's has only
 * handled_access_fs. The kernel accepts the larger size from any ABI as
 * long as the fields it does not know are zero. */
struct ll_ruleset_attr {
        uint64_t handled_access_fs;
        uint64_t handled_access_net;
        uint64_t scoped;
};

/* Rights that make sense on a non-directory; the kernel rejects a rule on a
 * file that carries any other right with EINVAL. */
#define LL_FILE_RIGHTS (LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_WRITE_FILE | \
                        LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_TRUNCATE | \
                        LANDLOCK_ACCESS_FS_IOCTL_DEV)

int landlock_abi(void)
{
        long v = syscall(SYS_landlock_create_ruleset, NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);
        return v < 0 ? negerrno() : (int) v;
}

/* Every filesystem right of this ABI, as in the kernel documentation's
 * best-effort example. On ABI 1 REFER cannot be handled, and the kernel then
 * always denies it: renames and links across directories fail with EXDEV. */
static uint64_t fs_rights(int abi)
{
        uint64_t r = (LANDLOCK_ACCESS_FS_MAKE_SYM << 1) - 1; /* ABI 1: bits 0..12 */

        if (abi >= 2)
                r |= LANDLOCK_ACCESS_FS_REFER;
        if (abi >= 3)
                r |= LANDLOCK_ACCESS_FS_TRUNCATE;
        if (abi >= 5)
                r |= LANDLOCK_ACCESS_FS_IOCTL_DEV;
        return r;
}

static uint64_t access_rights(enum landlock_access a, uint64_t handled)
{
        switch (a) {
        case LL_READ:
                return LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR;
        case LL_READ_EXEC:
                return LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR |
                       LANDLOCK_ACCESS_FS_EXECUTE;
        case LL_WRITE:
                return handled;
        case LL_DEV:
                /* No MAKE_* or REMOVE_*: /dev content is fixed, only used. */
                return (LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_WRITE_FILE |
                        LANDLOCK_ACCESS_FS_READ_DIR | LANDLOCK_ACCESS_FS_IOCTL_DEV |
                        LANDLOCK_ACCESS_FS_TRUNCATE) & handled;
        case LL_LIST:
                /* Landlock rules are hierarchical: on "/" this lets every
                 * directory below be listed, though no file be read. */
                return LANDLOCK_ACCESS_FS_READ_DIR;
        case LL_ACCESS_MAX:
                break;
        }
        return 0;
}

static int add_rule(int ruleset, const struct landlock_rule *rule, uint64_t handled)
{
        struct stat st;

        if (!rule->path || (unsigned) rule->access >= LL_ACCESS_MAX)
                return -EINVAL;

        /* O_PATH: we only need an anchor for the hierarchy, and it works on
         * directories we may not list and files we may not read. */
        _cleanup_close_ int fd = open(rule->path, O_PATH | O_CLOEXEC);
        if (fd < 0)
                /* Nothing to allow on a path that is not there; skipping it
                 * keeps it denied. */
                return errno == ENOENT || errno == ENOTDIR ? 0 : negerrno();
        if (fstat(fd, &st) < 0)
                return negerrno();

        uint64_t allowed = access_rights(rule->access, handled) & handled;
        if (!S_ISDIR(st.st_mode))
                allowed &= LL_FILE_RIGHTS;
        if (allowed == 0)
                return 0;

        struct landlock_path_beneath_attr pb = { .allowed_access = allowed, .parent_fd = fd };
        if (syscall(SYS_landlock_add_rule, ruleset, LANDLOCK_RULE_PATH_BENEATH, &pb, 0) < 0)
                return negerrno();
        return 0;
}

int landlock_apply(const struct landlock_rule *rules, size_t n, bool scope_ipc)
{
        int abi = landlock_abi();
        if (abi < 0)
                return abi;
        if (abi == 0)
                return -EOPNOTSUPP;
        if (abi > LL_ABI_KNOWN)
                abi = LL_ABI_KNOWN;

        struct ll_ruleset_attr attr = { .handled_access_fs = fs_rights(abi) };
        /* Without scoping, a sandboxed process could signal (ptrace is
         * already denied across domains) or talk over abstract unix sockets
         * to anything of the same user outside, e.g. a session's D-Bus or
         * an agent socket, which no filesystem rule can cover. */
        if (scope_ipc && abi >= 6)
                attr.scoped = LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET | LANDLOCK_SCOPE_SIGNAL;

        _cleanup_close_ int ruleset = (int) syscall(SYS_landlock_create_ruleset, &attr, sizeof(attr), 0);
        if (ruleset < 0)
                return negerrno();

        for (size_t i = 0; i < n; i++) {
                int r = add_rule(ruleset, &rules[i], attr.handled_access_fs);
                if (r < 0)
                        return r;
        }

        if (syscall(SYS_landlock_restrict_self, ruleset, 0) < 0)
                return negerrno();
        return abi;
}
