/* SPDX-License-Identifier: MIT */
#include "util/path.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "util/macro.h"

int path_normalize(const char *in, char **ret)
{
        if (!in || in[0] != '/')
                return -EINVAL;
        size_t len = strlen(in);
        char *out = malloc(len + 2);
        if (!out)
                return -ENOMEM;
        size_t o = 0;
        const char *p = in;
        while (*p) {
                while (*p == '/')
                        p++;
                if (!*p)
                        break;
                const char *end = strchrnul(p, '/');
                size_t n = (size_t)(end - p);
                for (size_t i = 0; i < n; i++)
                        if ((unsigned char)p[i] < 0x20 || p[i] == 0x7f) {
                                free(out);
                                return -EINVAL;
                        }
                if (n == 1 && p[0] == '.') {
                        p = end;
                        continue;
                }
                if (n == 2 && p[0] == '.' && p[1] == '.') {
                        free(out);
                        return -EINVAL;
                }
                out[o++] = '/';
                memcpy(out + o, p, n);
                o += n;
                p = end;
        }
        if (o == 0)
                out[o++] = '/';
        out[o] = '\0';
        *ret = out;
        return 0;
}

bool path_is_below_or_equal(const char *path, const char *dir)
{
        size_t n = strlen(dir);
        if (strcmp(dir, "/") == 0)
                return path[0] == '/';
        return strncmp(path, dir, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

char *path_join(const char *a, const char *b)
{
        size_t la = strlen(a);
        while (la > 0 && a[la - 1] == '/')
                la--;
        while (*b == '/')
                b++;
        char *r = malloc(la + strlen(b) + 2);
        if (!r)
                return NULL;
        memcpy(r, a, la);
        r[la] = '/';
        strcpy(r + la + 1, b);
        return r;
}

static int open_beneath_walk(int dirfd, const char *relpath, int flags)
{
        _cleanup_free_ char *copy = strdup(relpath);
        if (!copy)
                return -ENOMEM;
        _cleanup_close_ int cur = fcntl(dirfd, F_DUPFD_CLOEXEC, 3);
        if (cur < 0)
                return negerrno();
        char *save = NULL;
        char *next = NULL;
        for (char *c = strtok_r(copy, "/", &save); c; c = next) {
                next = strtok_r(NULL, "/", &save);
                if (strcmp(c, ".") == 0)
                        continue;
                if (strcmp(c, "..") == 0)
                        return -EXDEV;
                int f = next ? O_PATH | O_DIRECTORY : flags;
                int fd = openat(cur, c, f | O_NOFOLLOW | O_CLOEXEC);
                if (fd < 0)
                        return negerrno();
                close(cur);
                cur = fd;
        }
        return TAKE_FD(cur);
}

int path_open_beneath(int dirfd, const char *relpath, int flags)
{
        static int have_openat2 = -1;
        if (have_openat2 != 0) {
                struct open_how how = {
                        .flags = (unsigned)(flags | O_CLOEXEC),
                        .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
                };
                long fd = syscall(SYS_openat2, dirfd, relpath, &how, sizeof how);
                if (fd >= 0) {
                        have_openat2 = 1;
                        return (int)fd;
                }
                if (errno != ENOSYS && errno != EPERM)
                        return negerrno();
                have_openat2 = 0;
        }
        return open_beneath_walk(dirfd, relpath, flags);
}

int path_mkdir_p(const char *path, mode_t mode)
{
        _cleanup_free_ char *c = strdup(path);
        if (!c)
                return -ENOMEM;
        /* A parent that cannot be made shows as the last mkdir's error. */
        for (char *s = c + 1; *s; s++)
                if (*s == '/') {
                        *s = '\0';
                        (void)mkdir(c, mode);
                        *s = '/';
                }
        return mkdir(c, mode) < 0 && errno != EEXIST ? negerrno() : 0;
}
