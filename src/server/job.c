/* SPDX-License-Identifier: MIT */
#include "server/job.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "util/macro.h"
#include "util/strv.h"

/* Twice the largest output a limit set keeps (16 MiB per stream), with
 * room for escaping: a child that writes more than this is broken. */
#define JOB_MAX_RESPONSE (256u << 20)

double job_now(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Removes name under dfd and, for a directory, what it holds, depth
 * levels down. Never follows a symlink: entries are opened with
 * O_NOFOLLOW and removed by name relative to their directory. */
static void remove_tree_at(int dfd, const char *name, int depth)
{
        if (unlinkat(dfd, name, 0) == 0 || errno == ENOENT)
                return;
        if (depth <= 0)
                return;
        int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return;
        DIR *d = fdopendir(fd);
        if (!d) {
                close(fd);
                return;
        }
        struct dirent *de;
        while ((de = readdir(d)))
                if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
                        remove_tree_at(dirfd(d), de->d_name, depth - 1);
        closedir(d);
        (void)unlinkat(dfd, name, AT_REMOVEDIR);
}

/* A job's directory holds the runner's moat-code-XXXXXX/main.EXT. */
static void remove_job_dir(const char *dir)
{
        if (dir)
                remove_tree_at(AT_FDCWD, dir, 3);
}

int job_scratch_create(char **ret)
{
        const char *rt = getenv("XDG_RUNTIME_DIR");
        struct stat st;
        if (!rt || rt[0] != '/' || stat(rt, &st) < 0 || !S_ISDIR(st.st_mode) || access(rt, W_OK | X_OK) < 0)
                rt = "/tmp";
        _cleanup_free_ char *dir = str_printf("%s/moat-serve-XXXXXX", rt);
        if (!dir)
                return -ENOMEM;
        if (!mkdtemp(dir))
                return negerrno();
        /* Like the runner's own directory: the code file is bind-mounted
         * by the supervisor, which runs as this user. */
        if (chmod(dir, 0711) < 0) {
                int r = negerrno();
                (void)rmdir(dir);
                return r;
        }
        *ret = TAKE_PTR(dir);
        return 0;
}

void job_scratch_remove(const char *dir)
{
        if (dir)
                remove_tree_at(AT_FDCWD, dir, 4);
}

static void on_term(int sig)
{
        (void)sig;
}

static void close_from(int lo)
{
        if (syscall(SYS_close_range, lo, ~0u, 0) == 0)
                return;
        long max = sysconf(_SC_OPEN_MAX);
        for (int fd = lo; fd < (max > 0 && max < 1048576 ? max : 65536); fd++)
                close(fd);
}

/* The child: its own process group, dead with the server, the signals the
 * server read from its signalfd back to normal, nothing of the server's
 * descriptors (other clients' sockets, other jobs' pipes) but the
 * response pipe on fd 3, and the terminal or protocol stream out of
 * reach on 0 and 1. */
static _Noreturn void job_child(int wfd, pid_t parent, const struct job_env *env, const char *dir, job_fn fn,
                                void *arg)
{
        (void)setpgid(0, 0);
        if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
                _exit(125);
        /* SIGTERM to the group stops the run: the supervisor relays it to
         * the command and cleans up; this process must live on to write
         * the response, so it catches it (handlers do not survive exec). */
        struct sigaction sa = { .sa_handler = on_term, .sa_flags = SA_RESTART };
        sigemptyset(&sa.sa_mask);
        sigaction(SIGTERM, &sa, NULL);
        signal(SIGINT, SIG_DFL);
        signal(SIGHUP, SIG_DFL);
        signal(SIGPIPE, SIG_DFL);
        signal(SIGCHLD, SIG_DFL);
        sigprocmask(SIG_SETMASK, &env->mask, NULL);

        int null = open("/dev/null", O_RDWR | O_CLOEXEC);
        if (null < 0 || dup2(null, STDIN_FILENO) < 0 || dup2(null, STDOUT_FILENO) < 0)
                _exit(125);
        if (wfd != 3 && dup3(wfd, 3, O_CLOEXEC) < 0)
                _exit(125);
        close_from(4);
        if (setenv("XDG_RUNTIME_DIR", dir, 1) < 0)
                _exit(125);

        struct json j = { 0 };
        fn(arg, &j);
        const char *t = json_text(&j);
        if (!t)
                _exit(125);
        size_t n = strlen(t);
        for (size_t off = 0; off < n;) {
                ssize_t w = write(3, t + off, n - off);
                if (w < 0 && errno == EINTR)
                        continue;
                if (w <= 0)
                        _exit(125);
                off += (size_t)w;
        }
        _exit(0);
}

int job_start(struct job *jb, const struct job_env *env, job_fn fn, void *arg)
{
        static unsigned long seq;
        memset(jb, 0, sizeof *jb);
        jb->fd = -1;
        jb->dir = str_printf("%s/job-%lu", env->scratch, ++seq);
        if (!jb->dir)
                return -ENOMEM;
        if (mkdir(jb->dir, 0711) < 0) {
                int r = negerrno();
                free(TAKE_PTR(jb->dir));
                return r;
        }
        int p[2];
        if (pipe2(p, O_CLOEXEC) < 0) {
                int r = negerrno();
                remove_job_dir(jb->dir);
                free(TAKE_PTR(jb->dir));
                return r;
        }
        pid_t parent = getpid();
        pid_t pid = fork();
        if (pid < 0) {
                int r = negerrno();
                close(p[0]);
                close(p[1]);
                remove_job_dir(jb->dir);
                free(TAKE_PTR(jb->dir));
                return r;
        }
        if (pid == 0) {
                close(p[0]);
                job_child(p[1], parent, env, jb->dir, fn, arg);
        }
        /* Here too, so that a stop sent before the child ran reaches the
         * group. */
        (void)setpgid(pid, pid);
        close(p[1]);
        (void)fcntl(p[0], F_SETFL, O_NONBLOCK);
        jb->pid = pid;
        jb->fd = p[0];
        return 0;
}

int job_read(struct job *jb)
{
        if (jb->fd < 0)
                return 1;
        for (;;) {
                char chunk[65536];
                ssize_t n = read(jb->fd, chunk, sizeof chunk);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return errno == EAGAIN ? 0 : negerrno();
                if (n == 0)
                        return 1;
                if (jb->overflow || jb->len + (size_t)n > JOB_MAX_RESPONSE) {
                        jb->overflow = true;
                        continue;
                }
                if (jb->len + (size_t)n + 1 > jb->cap) {
                        size_t cap = jb->cap ? jb->cap : 65536;
                        while (cap < jb->len + (size_t)n + 1)
                                cap *= 2;
                        char *b = realloc(jb->buf, cap);
                        if (!b) {
                                jb->overflow = true;
                                continue;
                        }
                        jb->buf = b;
                        jb->cap = cap;
                }
                memcpy(jb->buf + jb->len, chunk, (size_t)n);
                jb->len += (size_t)n;
                jb->buf[jb->len] = '\0';
        }
}

bool job_reaped(struct job *jb, pid_t pid, int wstatus)
{
        if (jb->pid <= 0 || pid != jb->pid)
                return false;
        jb->pid = 0;
        jb->wstatus = wstatus;
        /* Everything it wrote is in the pipe now. */
        (void)job_read(jb);
        remove_job_dir(jb->dir);
        return true;
}

void job_stop(struct job *jb, double now)
{
        if (jb->pid <= 0 || jb->term_at > 0)
                return;
        jb->term_at = now;
        if (kill(-jb->pid, SIGTERM) < 0)
                (void)kill(jb->pid, SIGTERM);
}

void job_kill(struct job *jb)
{
        if (jb->pid <= 0 || jb->killed)
                return;
        jb->killed = true;
        if (kill(-jb->pid, SIGKILL) < 0)
                (void)kill(jb->pid, SIGKILL);
}

const char *job_response(struct job *jb, char *reason, size_t size)
{
        if (jb->pid > 0) {
                snprintf(reason, size, "still running");
                return NULL;
        }
        if (WIFSIGNALED(jb->wstatus)) {
                snprintf(reason, size, "its worker was killed by signal %d", WTERMSIG(jb->wstatus));
                return NULL;
        }
        if (!WIFEXITED(jb->wstatus) || WEXITSTATUS(jb->wstatus) != 0) {
                snprintf(reason, size, "its worker failed (exit status %d)", WEXITSTATUS(jb->wstatus));
                return NULL;
        }
        if (jb->overflow) {
                snprintf(reason, size, "its response was larger than %u MiB", JOB_MAX_RESPONSE >> 20);
                return NULL;
        }
        if (!jb->buf || jb->buf[0] != '{') {
                snprintf(reason, size, "its worker wrote no response");
                return NULL;
        }
        return jb->buf;
}

void job_free(struct job *jb)
{
        if (jb->pid > 0) {
                job_kill(jb);
                int st;
                while (waitpid(jb->pid, &st, 0) < 0 && errno == EINTR)
                        ;
                jb->pid = 0;
        }
        if (jb->fd >= 0)
                close(jb->fd);
        remove_job_dir(jb->dir);
        free(jb->buf);
        free(jb->dir);
        memset(jb, 0, sizeof *jb);
        jb->fd = -1;
}
