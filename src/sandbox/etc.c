/* SPDX-License-Identifier: MIT */
/* The sandbox's /etc is built, not bound: the host's /etc holds secrets
 * (shadow, ssh host keys, sudoers, wifi and VPN credentials, apt auth,
 * keytabs) next to the configuration programs need. We copy an allowlist of
 * harmless entries and synthesize the identity files, so a new secret added
 * to the host's /etc later is never exposed by default. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sandbox/mountapi.h"
#include "sandbox/rootfs.h"
#include "util/log.h"
#include "util/macro.h"

/* Entries that programs read and that carry no secrets. Directories are
 * bound read-only; small files are copied; symlinks are recreated. */
static const char *const etc_allow[] = {
        /* Directories: bound read-only (each costs a mount, so only those
         * programs need at run time: ld.so reads ld.so.cache, not
         * ld.so.conf.d; terminfo lives under /usr and /lib). */
        "alternatives", "fonts", "java-17-openjdk", "java-21-openjdk",
        /* Files and links: copied. */
        "bash.bashrc", "debian_version", "gai.conf", "gitconfig", "host.conf", "inputrc", "ld.so.cache",
        "ld.so.conf", "locale.alias", "locale.conf", "localtime", "lsb-release", "magic", "magic.mime",
        "manpath.config", "mime.types", "mtab", "nanorc", "networks", "npmrc", "os-release", "pip.conf",
        "profile", "protocols", "rpc", "services", "shells", "timezone", "wgetrc", "mke2fs.conf",
};
/* Inside /etc/ssl only the public parts: never ssl/private. */
static const char *const ssl_allow[] = { "certs", "openssl.cnf" };

static int write_file(int dirfd, const char *name, const char *content)
{
        _cleanup_close_ int fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
        if (fd < 0)
                return negerrno();
        size_t len = strlen(content);
        if (write(fd, content, len) != (ssize_t)len)
                return -EIO;
        return 0;
}

/* Copies, links or binds host entry dir/name into dstdir. Missing entries
 * are skipped. */
static int copy_entry(const char *hostdir, int dstdir, const char *name)
{
        char path[4096];
        struct stat st;
        snprintf(path, sizeof path, "%s/%s", hostdir, name);
        if (lstat(path, &st) < 0)
                return 0;
        if (S_ISLNK(st.st_mode)) {
                char target[4096];
                ssize_t n = readlink(path, target, sizeof target - 1);
                if (n <= 0)
                        return 0;
                target[n] = '\0';
                return symlinkat(target, dstdir, name) < 0 ? negerrno() : 0;
        }
        if (S_ISREG(st.st_mode) && st.st_size <= 256 * 1024) {
                _cleanup_close_ int in = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
                if (in < 0)
                        return 0; /* unreadable to this user: not ours to show */
                _cleanup_close_ int out = openat(dstdir, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
                if (out < 0)
                        return negerrno();
                char buf[65536];
                ssize_t n;
                while ((n = read(in, buf, sizeof buf)) > 0)
                        if (write(out, buf, (size_t)n) != n)
                                return -EIO;
                return 0;
        }
        if (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode))
                return 0;
        if (S_ISDIR(st.st_mode)) {
                if (mkdirat(dstdir, name, 0755) < 0)
                        return negerrno();
        } else {
                _cleanup_close_ int f = openat(dstdir, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
                if (f < 0)
                        return negerrno();
        }
        _cleanup_close_ int tree = sys_open_tree(AT_FDCWD, path, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);
        if (tree < 0)
                return negerrno();
        struct mount_attr attr = { .attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV };
        if (sys_mount_setattr(tree, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr) < 0)
                return negerrno();
        if (sys_move_mount(tree, "", dstdir, name, MOVE_MOUNT_F_EMPTY_PATH) < 0)
                return negerrno();
        return 0;
}

int etc_build(const struct policy *p, int etcfd, struct moat_error *e)
{
        int r;
        for (size_t i = 0; i < ARRAY_SIZE(etc_allow); i++)
                if ((r = copy_entry("/etc", etcfd, etc_allow[i])) < 0)
                        return error_set(e, -r, "building /etc: %s: %s", etc_allow[i], strerror(-r));
        if (mkdirat(etcfd, "ssl", 0755) == 0) {
                _cleanup_close_ int ssl = openat(etcfd, "ssl", O_PATH | O_DIRECTORY | O_CLOEXEC);
                for (size_t i = 0; ssl >= 0 && i < ARRAY_SIZE(ssl_allow); i++)
                        if ((r = copy_entry("/etc/ssl", ssl, ssl_allow[i])) < 0)
                                return error_set(e, -r, "building /etc/ssl: %s", strerror(-r));
        }
        if (p->net == NET_HOST) {
                /* Name resolution is only meaningful with the host's network. */
                (void)copy_entry("/etc", etcfd, "resolv.conf");
                (void)copy_entry("/etc", etcfd, "hosts");
        }

        char buf[2048];
        const char *home = p->home;
        if (p->uid == 0)
                snprintf(buf, sizeof buf,
                         "root:x:0:0:root:%s:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n",
                         home);
        else
                snprintf(buf, sizeof buf,
                         "root:x:0:0:root:/root:/usr/sbin/nologin\n%s:x:%u:%u:%s:%s:/bin/sh\n"
                         "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n",
                         p->user, (unsigned)p->uid, (unsigned)p->gid, p->user, home);
        if ((r = write_file(etcfd, "passwd", buf)) < 0)
                return error_set(e, -r, "writing /etc/passwd: %s", strerror(-r));
        if (p->gid == 0)
                snprintf(buf, sizeof buf, "root:x:0:\nnogroup:x:65534:\n");
        else
                snprintf(buf, sizeof buf, "root:x:0:\n%s:x:%u:\nnogroup:x:65534:\n", p->user, (unsigned)p->gid);
        if ((r = write_file(etcfd, "group", buf)) < 0)
                return error_set(e, -r, "writing /etc/group: %s", strerror(-r));
        snprintf(buf, sizeof buf, "%s\n", p->hostname);
        if ((r = write_file(etcfd, "hostname", buf)) < 0)
                return error_set(e, -r, "writing /etc/hostname: %s", strerror(-r));
        if (p->net != NET_HOST) {
                snprintf(buf, sizeof buf,
                         "127.0.0.1\tlocalhost\n127.0.1.1\t%s\n::1\tlocalhost ip6-localhost ip6-loopback\n",
                         p->hostname);
                if ((r = write_file(etcfd, "hosts", buf)) < 0)
                        return error_set(e, -r, "writing /etc/hosts: %s", strerror(-r));
        }
        /* Only files: the host's may name sss, systemd or ldap modules that
         * would try sockets the sandbox does not have. */
        if ((r = write_file(etcfd, "nsswitch.conf",
                            "passwd: files\ngroup: files\nshadow: files\nhosts: files dns\n"
                            "networks: files\nprotocols: files\nservices: files\nethers: files\nrpc: files\n")) < 0)
                return error_set(e, -r, "writing /etc/nsswitch.conf: %s", strerror(-r));
        log_step("curated /etc: %zu allowlisted entries, synthesized passwd, group, hosts, hostname",
                 ARRAY_SIZE(etc_allow));
        return 0;
}
