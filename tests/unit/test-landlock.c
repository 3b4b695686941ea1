/* SPDX-License-Identifier: MIT */
/* Landlock: each case runs in a forked child (a ruleset cannot be undone),
 * which sets no_new_privs, applies rules over temp dirs and reports the
 * first check that failed as its exit status. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sandbox/landlock.h"
#include "tests/unit/tap.h"

static char base[] = "/tmp/moat-test-landlock.XXXXXX";
static char ro[256], rw[256], out[256], ex[256];
static int abi;

/* A failed check exits with its line number (mod 256, never 0). */
#define CHECK(c) do { if (!(c)) _exit(__LINE__ % 255 + 1); } while (0)
#define DENIED(expr) ({ errno = 0; int _r = (expr); _r < 0 && errno == EACCES; })

static void apply_or_die(const struct landlock_rule *r, size_t n, bool scope)
{
        CHECK(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0);
        CHECK(landlock_apply(r, n, scope) == (abi > 7 ? 7 : abi));
}


static char *p(const char *dir, const char *name)
{
        static char buf[4][4096];
        static int i;
        char *b = buf[i++ % 4];
        snprintf(b, sizeof(buf[0]), "%s/%s", dir, name);
        return b;
}

static void case_read_only(void)
{
        struct landlock_rule r[] = { { ro, LL_READ } };
        char c;
        apply_or_die(r, 1, false);

        int fd = open(p(ro, "file"), O_RDONLY | O_CLOEXEC);
        CHECK(fd >= 0 && read(fd, &c, 1) == 1);
        close(fd);
        fd = open(ro, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        CHECK(fd >= 0);
        close(fd);
        CHECK(DENIED(open(p(ro, "file"), O_WRONLY | O_CLOEXEC)));
        CHECK(DENIED(open(p(ro, "new"), O_WRONLY | O_CREAT | O_CLOEXEC, 0644)));
        CHECK(DENIED(unlink(p(ro, "file"))));
        CHECK(DENIED(mkdir(p(ro, "d"), 0755)));
        /* MAKE_FIFO is granted nowhere, so it is denied even here. */
        CHECK(DENIED(mkfifo(p(ro, "fifo"), 0644)));
}

static void case_write(void)
{
        struct landlock_rule r[] = { { rw, LL_WRITE } };
        apply_or_die(r, 1, false);

        int fd = open(p(rw, "a"), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
        CHECK(fd >= 0 && write(fd, "x", 1) == 1);
        close(fd);
        CHECK(rename(p(rw, "a"), p(rw, "b")) == 0);
        CHECK(mkdir(p(rw, "sub"), 0755) == 0);
        if (abi >= 2) /* cross-directory rename needs REFER */
                CHECK(rename(p(rw, "b"), p(rw, "sub/b")) == 0);
        else
                CHECK(rename(p(rw, "b"), p(rw, "sub/b")) < 0 && errno == EXDEV);
        CHECK(truncate(abi >= 2 ? p(rw, "sub/b") : p(rw, "b"), 0) == 0);
        CHECK(unlink(abi >= 2 ? p(rw, "sub/b") : p(rw, "b")) == 0);
        CHECK(rmdir(p(rw, "sub")) == 0);
        CHECK(mkfifo(p(rw, "fifo"), 0644) == 0 && unlink(p(rw, "fifo")) == 0);
}

static void case_outside(void)
{
        struct landlock_rule r[] = { { ro, LL_READ }, { "/nonexistent/moat", LL_WRITE } };
        apply_or_die(r, 2, false);

        CHECK(DENIED(open(p(out, "file"), O_RDONLY | O_CLOEXEC)));
        CHECK(DENIED(open(out, O_RDONLY | O_DIRECTORY | O_CLOEXEC)));
        CHECK(DENIED(open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC)));
        CHECK(DENIED(open(p(out, "new"), O_WRONLY | O_CREAT | O_CLOEXEC, 0644)));
}

static void case_list(void)
{
        /* LL_LIST on a file has no right left after masking: skipped, not EINVAL. */
        struct landlock_rule r[] = { { base, LL_LIST }, { p(rw, "file"), LL_LIST } };
        apply_or_die(r, 2, false);

        int fd = open(ro, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        CHECK(fd >= 0);
        close(fd);
        CHECK(DENIED(open(p(ro, "file"), O_RDONLY | O_CLOEXEC)));
        CHECK(DENIED(open(p(rw, "file"), O_RDONLY | O_CLOEXEC)));
        CHECK(DENIED(open(p(rw, "new"), O_WRONLY | O_CREAT | O_CLOEXEC, 0644)));
}

static void case_file_rule(void)
{
        /* LL_WRITE on a file: the directory-only rights must be masked, or
         * landlock_add_rule fails with EINVAL. */
        struct landlock_rule r[] = { { p(ro, "file"), LL_READ }, { p(rw, "file"), LL_WRITE } };
        apply_or_die(r, 2, false);

        int fd = open(p(ro, "file"), O_RDONLY | O_CLOEXEC);
        CHECK(fd >= 0);
        close(fd);
        CHECK(DENIED(open(p(ro, "file"), O_WRONLY | O_CLOEXEC)));
        CHECK(DENIED(open(p(ro, "other"), O_RDONLY | O_CLOEXEC)));
        CHECK(DENIED(open(ro, O_RDONLY | O_DIRECTORY | O_CLOEXEC)));
        fd = open(p(rw, "file"), O_WRONLY | O_TRUNC | O_CLOEXEC);
        CHECK(fd >= 0 && write(fd, "y", 1) == 1);
        close(fd);
        CHECK(DENIED(open(p(rw, "new"), O_WRONLY | O_CREAT | O_CLOEXEC, 0644)));
}

static void case_exec(void)
{
        struct landlock_rule r[] = {
                { "/usr", LL_READ_EXEC }, { "/lib", LL_READ_EXEC }, { "/lib64", LL_READ_EXEC },
                { "/bin", LL_READ_EXEC }, { "/etc", LL_READ },
                { ro, LL_READ }, { ex, LL_READ_EXEC },
        };
        char *argv[] = { "true", NULL };
        int status;
        apply_or_die(r, sizeof(r) / sizeof(r[0]), false);

        CHECK(DENIED(execv(p(ro, "true"), argv)));
        pid_t pid = fork();
        CHECK(pid >= 0);
        if (pid == 0) {
                execv(p(ex, "true"), argv);
                _exit(127);
        }
        CHECK(waitpid(pid, &status, 0) == pid);
        CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static struct sockaddr_un abstract;

static void case_scope(void)
{
        struct landlock_rule r[] = { { ro, LL_READ } };
        CHECK(kill(getppid(), 0) == 0); /* control: allowed before */
        apply_or_die(r, 1, true);

        errno = 0;
        CHECK(kill(getppid(), 0) < 0 && errno == EPERM);
        int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        CHECK(s >= 0);
        errno = 0;
        CHECK(connect(s, (struct sockaddr *) &abstract,
                      offsetof(struct sockaddr_un, sun_path) + 1 + strlen(abstract.sun_path + 1)) < 0 &&
              errno == EPERM);
}

static void case_invalid(void)
{
        struct landlock_rule r[] = { { ro, LL_READ }, { rw, LL_ACCESS_MAX } };
        CHECK(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0);
        CHECK(landlock_apply(r, 2, false) == -EINVAL);
        int fd = open(p(out, "file"), O_RDONLY | O_CLOEXEC);
        CHECK(fd >= 0);
        close(fd);
}

static void case_no_scope(void)
{
        struct landlock_rule r[] = { { ro, LL_READ } };
        apply_or_die(r, 1, false);
        CHECK(kill(getppid(), 0) == 0);
}

static int put(const char *path, const char *content, mode_t mode)
{
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
        if (fd < 0)
                return -1;
        ssize_t n = write(fd, content, strlen(content));
        close(fd);
        return n == (ssize_t) strlen(content) ? 0 : -1;
}

static int copy(const char *from, const char *to)
{
        char buf[65536];
        ssize_t n;
        int in = open(from, O_RDONLY | O_CLOEXEC);
        int o = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
        int ret = in >= 0 && o >= 0 ? 0 : -1;
        while (ret == 0 && (n = read(in, buf, sizeof(buf))) > 0)
                if (write(o, buf, n) != n)
                        ret = -1;
        if (in >= 0)
                close(in);
        if (o >= 0)
                close(o);
        return ret;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
        (void) st, (void) flag, (void) ftw;
        return remove(path);
}

static void check(const char *name, int code)
{
        tap_ok(code == 0, "%s", name);
        if (code != 0)
                printf("#   child failed at line ~%d (status %d)\n", code - 1, code);
}

int main(void)
{
        abi = landlock_abi();
        if (abi <= 0) {
                printf("# landlock_abi() = %d\n", abi);
                tap_skip("Landlock is not available on this kernel");
                return tap_done();
        }
        printf("# Landlock ABI %d, uid %d\n", abi, (int) getuid());

        if (!mkdtemp(base)) {
                tap_ok(0, "mkdtemp: %s", strerror(errno));
                return tap_done();
        }
        snprintf(ro, sizeof(ro), "%s/ro", base);
        snprintf(rw, sizeof(rw), "%s/rw", base);
        snprintf(out, sizeof(out), "%s/out", base);
        snprintf(ex, sizeof(ex), "%s/ex", base);
        int setup = mkdir(ro, 0755) | mkdir(rw, 0755) | mkdir(out, 0755) | mkdir(ex, 0755) |
                    put(p(ro, "file"), "hello\n", 0644) | put(p(ro, "other"), "x\n", 0644) |
                    put(p(rw, "file"), "rw\n", 0644) | put(p(out, "file"), "secret\n", 0644) |
                    copy("/bin/true", p(ro, "true")) | copy("/bin/true", p(ex, "true"));
        tap_ok(setup == 0, "temp tree set up under %s", base);

        check("invalid access value: -EINVAL and nothing applied", tap_run_child(case_invalid));
        check("read-only dir: readable, not writable, FIFO denied", tap_run_child(case_read_only));
        check("write dir: create, rename, refer, truncate, unlink, rmdir", tap_run_child(case_write));
        check("paths in no rule (and /) cannot be opened; missing rule path skipped", tap_run_child(case_outside));
        check("file rules: read-only file, writable file (dir rights masked)", tap_run_child(case_file_rule));
        check("exec only under LL_READ_EXEC", tap_run_child(case_exec));
        check("LL_LIST: directories listable below, files not readable", tap_run_child(case_list));

        if (abi >= 6) {
                abstract.sun_family = AF_UNIX;
                snprintf(abstract.sun_path + 1, sizeof(abstract.sun_path) - 1, "moat-test-%d", (int) getpid());
                socklen_t len = offsetof(struct sockaddr_un, sun_path) + 1 + strlen(abstract.sun_path + 1);
                int l = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
                tap_ok(l >= 0 && bind(l, (struct sockaddr *) &abstract, len) == 0 && listen(l, 1) == 0,
                       "abstract listener outside the sandbox");
                check("scope_ipc: signals and abstract sockets to the parent are EPERM", tap_run_child(case_scope));
                check("without scope_ipc the parent can be signalled", tap_run_child(case_no_scope));
                close(l);
        } else {
                tap_skip("scoped IPC needs Landlock ABI 6");
        }

        nftw(base, rm_one, 16, FTW_DEPTH | FTW_PHYS);
        return tap_done();
}
