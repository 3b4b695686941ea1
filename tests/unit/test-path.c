/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tap.h"
#include "util/path.h"

static void norm(const char *in, const char *want)
{
        char *out = NULL;
        int r = path_normalize(in, &out);
        if (want)
                tap_is_str(r == 0 ? out : NULL, want, "normalize %s", in);
        else
                tap_ok(r == -EINVAL, "normalize rejects %s", in);
        free(out);
}

int main(void)
{
        norm("/a//b/./c/", "/a/b/c");
        norm("/", "/");
        norm("///", "/");
        norm("/a/../etc", NULL);
        norm("relative", NULL);
        norm("/a\nb", NULL);
        norm("/a/..b", "/a/..b");

        tap_ok(path_is_below_or_equal("/a/b", "/a"), "below");
        tap_ok(path_is_below_or_equal("/a", "/a"), "equal");
        tap_ok(!path_is_below_or_equal("/ab", "/a"), "prefix is not below");
        tap_ok(path_is_below_or_equal("/x", "/"), "everything is below /");

        char *j = path_join("/a/", "/b");
        tap_is_str(j, "/a/b", "join");
        free(j);

        char tmpl[] = "/tmp/moat-test-path-XXXXXX";
        if (!mkdtemp(tmpl)) {
                tap_skip("mkdtemp failed");
                return tap_done();
        }
        int dir = open(tmpl, O_PATH | O_DIRECTORY);
        mkdirat(dir, "d", 0755);
        if (symlinkat("/etc", dir, "d/escape") < 0 || symlinkat("..", dir, "d/up") < 0)
                return 1;
        int f = openat(dir, "d/file", O_CREAT | O_WRONLY, 0644);
        close(f);
        int fd = path_open_beneath(dir, "d/file", O_RDONLY);
        tap_ok(fd >= 0, "opens a file beneath");
        if (fd >= 0)
                close(fd);
        fd = path_open_beneath(dir, "d/escape/passwd", O_RDONLY);
        tap_ok(fd < 0, "an absolute symlink does not lead out (%d)", fd);
        fd = path_open_beneath(dir, "d/up/d/file", O_RDONLY);
        tap_ok(fd < 0, "a relative symlink is not followed (%d)", fd);
        fd = path_open_beneath(dir, "../etc/passwd", O_RDONLY);
        tap_ok(fd < 0, "'..' does not lead out (%d)", fd);
        fd = path_open_beneath(dir, "d/escape", O_PATH | O_NOFOLLOW);
        tap_ok(fd >= 0, "O_PATH|O_NOFOLLOW opens the link itself");
        if (fd >= 0)
                close(fd);
        close(dir);
        char cmd[128];
        snprintf(cmd, sizeof cmd, "rm -rf %s", tmpl);
        if (system(cmd) != 0)
                return 1;
        return tap_done();
}
