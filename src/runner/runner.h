/* SPDX-License-Identifier: MIT */
/* The code runner: a snippet or a file in a fresh sandbox, with a named
 * limit set, its output captured up to a limit while it runs, and one
 * result object. `moat run --lang`, `moat api` and boxes go through here.
 *
 * The run itself is `moat run` in a child process whose stdout and stderr
 * are pipes this process drains (so a chatty program never stalls, and
 * output past the limit is counted and dropped) and whose JSON result
 * comes back on a third pipe. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cli/run_args.h"
#include "util/error.h"
#include "util/json.h"

struct lang {
        const char *name;      /* "python" */
        const char *const *aliases;
        const char *program;   /* looked up on the sandbox's PATH */
        const char *run_flag;  /* for code: "-c" (python3, sh) or "-e" (node) */
        const char *ext;       /* for a file: ".py" */
};

const struct lang *lang_find(const char *name);
/* Every language the runner knows. */
const struct lang *lang_all(size_t *ret_n);
/* Where the language's program is on this system (the directories the
 * sandbox's PATH shares with the host), into buf; false when it is not
 * installed. */
bool lang_path(const struct lang *l, char *buf, size_t size);
/* "python, bash, sh, node" */
const char *lang_names(void);

/* Named limit sets (--profile): a documented table. */
struct limit_set {
        const char *name;
        struct limits limits;
        uint64_t output_bytes; /* stdout and stderr, each */
        uint64_t code_bytes;
};
const struct limit_set *limit_set_find(const char *name);
const struct limit_set *limit_sets(size_t *ret_n);

enum runner_mode {
        MODE_BALANCED, /* the protections this kernel has; options it cannot enforce are refused */
        MODE_STRICT,   /* refuses unless every protection is in force and nothing is opened up */
        MODE_DEV,      /* runs with what is missing, and says so */
        _MODE_MAX,
};
int runner_mode_parse(const char *s, enum runner_mode *ret);
const char *runner_mode_name(enum runner_mode m);

struct runner_request {
        const char *lang;       /* NULL: o->argv is the command */
        const char *code;       /* the snippet (or a file's bytes) */
        size_t code_len;
        const char *code_name;  /* shown in tracebacks: "snippet" or the file's name */
        const char *stdin_data; /* NULL: /dev/null */
        size_t stdin_len;
        uint64_t output_limit;  /* bytes per stream */
        bool capture;           /* keep the output for the result (JSON) instead of passing it on */
        const char *cwd;        /* run from this directory (a box's workspace: the project) */
};

struct runner_result {
        int status;             /* moat's exit status */
        char *out, *err;        /* captured (NUL-terminated) when capture */
        size_t out_len, err_len;
        uint64_t out_total, err_total; /* bytes the program wrote */
        bool truncated;
        char *result_json;      /* the run's own JSON result object */
        double duration_ms;
};
void runner_result_free(struct runner_result *r);

/* Runs o (options as for `moat run`) for the request. Returns 0 when the
 * run happened (its outcome is in res), or -errno with e filled in. */
int runner_exec(struct run_options *o, const struct runner_request *req, struct runner_result *res,
                struct moat_error *e);

/* Writes the result object: the run's fields plus stdout, stderr,
 * output_truncated and the language. */
void runner_result_json(const struct runner_result *res, const struct runner_request *req, struct json *j);

/* Settles a request's options before it runs: the limit set (--profile,
 * default "safe") under any explicit limit, the mode's rules, the policy
 * file's ceilings, the output and code size limits. Refuses, with e, what
 * the mode or the ceilings do not allow. */
int runner_settle(struct run_options *o, struct runner_request *req, struct moat_error *e);
