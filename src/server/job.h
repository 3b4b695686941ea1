/* SPDX-License-Identifier: MIT */
/* A job: one request handled in a forked child of a single-threaded server
 * (moat serve, moat mcp), which writes its response object into a pipe and
 * exits. runner_exec forks and runs `moat run`'s whole set-up in its own
 * child, which is only safe from a process with one thread; forking per
 * request from the event loop gives every run that, and a crash or a leak
 * in one run cannot touch the server.
 *
 * The child leads its own process group (the run's supervisor is in it), so
 * stopping a job is a signal to the group: SIGTERM first, which the
 * supervisor relays to the command and then tidies up after, SIGKILL when
 * that is not enough. It dies with the server (PR_SET_PDEATHSIG), and its
 * temporary files live in a directory of its own, removed when it is reaped
 * however it ended. */
#pragma once

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "util/json.h"

struct job {
        pid_t pid;            /* 0 once reaped */
        int fd;               /* the response pipe's read end, -1 once closed */
        char *buf;            /* the response so far */
        size_t len, cap;
        bool overflow;        /* the child wrote more than a response may hold */
        int wstatus;          /* valid once pid is 0 */
        char *dir;            /* the job's temporary directory */
        double term_at;       /* when SIGTERM was sent, 0 if not */
        bool killed;          /* SIGKILL sent */
};

/* Produces the response object into j; runs in the child. */
typedef void (*job_fn)(void *arg, struct json *j);

/* What a job child restores before it runs: the server's signal mask from
 * before it blocked the signals it reads from a signalfd. */
struct job_env {
        sigset_t mask;
        const char *scratch; /* a directory for the jobs' temporary directories */
};

/* Forks a child that runs fn(arg) and writes the result into the pipe
 * (job->fd, non-blocking, for the caller's event loop). Returns 0 or
 * -errno. */
int job_start(struct job *jb, const struct job_env *env, job_fn fn, void *arg);
/* Reads what the pipe holds. Returns 1 at end of file, 0 when it would
 * block, -errno on error. */
int job_read(struct job *jb);
/* Records the exit of pid when it is this job's; true when it was. Reads
 * what is left in the pipe and removes the job's directory. */
bool job_reaped(struct job *jb, pid_t pid, int wstatus);
/* Asks the job to stop (SIGTERM to its group), or kills it (SIGKILL). */
void job_stop(struct job *jb, double now);
void job_kill(struct job *jb);
/* The child's response when it ended cleanly with one, else NULL; *reason
 * then says what happened ("killed by signal 9"). */
const char *job_response(struct job *jb, char *reason, size_t size);
/* Frees what the job holds; a job still running is killed and reaped. */
void job_free(struct job *jb);

/* Seconds on the monotonic clock. */
double job_now(void);
/* A private directory for the jobs' temporary directories, under
 * $XDG_RUNTIME_DIR or /tmp; removed by job_scratch_remove. */
int job_scratch_create(char **ret);
void job_scratch_remove(const char *dir);
