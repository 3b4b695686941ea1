/* SPDX-License-Identifier: MIT */
/* The flags of `moat run` and `moat explain`, parsed without side effects
 * (argv in, struct out) so the parser can be unit-tested and fuzzed. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "policy/policy.h"
#include "util/error.h"

/* Which limits were given on the command line (the rest keep defaults). */
enum limit_bit {
        LIMIT_MEMORY = 1u << 0,
        LIMIT_PIDS = 1u << 1,
        LIMIT_CPU_TIME = 1u << 2,
        LIMIT_TIMEOUT = 1u << 3,
        LIMIT_NOFILE = 1u << 4,
        LIMIT_FSIZE = 1u << 5,
        LIMIT_TMPFS = 1u << 6,
};

/* The limits by the names profiles, requests and policies use, with the
 * flag that sets each and the largest value a profile may give. */
struct limit_field {
        const char *name;  /* "cpu_time" */
        const char *flag;  /* "--cpu-time" */
        unsigned bit;      /* enum limit_bit */
        size_t offset;     /* in struct limits */
        uint64_t max;
};
#define LIMIT_FIELDS 7
extern const struct limit_field limit_fields[LIMIT_FIELDS];
/* The field named name, or NULL. */
const struct limit_field *limit_field_find(const char *name);
static inline uint64_t *limit_ref(struct limits *l, const struct limit_field *f)
{
        return (uint64_t *)((char *)l + f->offset);
}

/* One mount request from --ro/--rw/--mount/--tmpfs, in command-line order. */
struct mount_request {
        enum mount_type type; /* MOUNT_BIND or MOUNT_TMPFS */
        char *src;            /* as given (may be relative); NULL for tmpfs */
        char *dst;            /* as given; NULL = same as src */
        bool writable;
        const char *flag;     /* "--ro", "--rw", "--mount", "--tmpfs" */
};

struct run_options {
        char **argv;                 /* the command */
        struct mount_request *mounts;
        size_t n_mounts;
        char **protect;              /* extra protected paths (--protect) */
        char **env_set;              /* K=V */
        char **env_pass;             /* NAME */
        char *workdir;
        bool no_cwd;
        bool cwd_ro;                 /* the project read-only (a profile's "." mount with "ro") */
        char **path_prepend;         /* directories put before the sandbox's PATH (a tool's install) */
        bool git_write;              /* .git writable but for hooks and config */
        enum net_mode net;
        bool net_set;                /* --net given explicitly */
        char **allow;                /* --allow rules, as written */
        char *log_path;              /* --log FILE */
        char **publish;              /* -p specs, as written */
        char **host_ports;           /* --host-port values, as written */
        struct limits limits;
        unsigned limits_set;         /* enum limit_bit */
        enum tty_mode tty;
        bool json;
        int json_fd;                 /* -1 unless --json-fd */
        int verbose;
        unsigned allow_weaker;       /* enum weaker */
        bool help;
        bool dashdash;
        /* The code runner (src/runner) */
        char *lang;                  /* --lang */
        char *code;                  /* -c, --code */
        char *limit_set;             /* --profile safe|fast|dev */
        char *mode;                  /* --mode */
        char *policy_file;           /* --policy */
        char *home_dir;              /* a box's home, bound at $HOME instead of a tmpfs */
        bool no_protect;             /* a box's workspace: no protected paths (the host runs nothing there) */
        uint64_t output_limit;       /* --output-limit, 0: the limit set's */               /* the command came after "--": never a profile name */
};

/* Parses args (after the subcommand name). cmd names the subcommand for
 * messages ("run", "explain"). Returns 0 or -errno with e filled in. */
int run_args_parse(const char *cmd, int argc, char *const *argv, struct run_options *o,
                   struct moat_error *e);
void run_options_free(struct run_options *o);
/* Appends a mount request; flag names its origin in messages. */
int run_options_add_mount(struct run_options *o, enum mount_type t, const char *src, const char *dst,
                          bool writable, const char *flag);

/* The option table, for help text, completions and "did you mean". */
struct run_flag {
        const char *name;    /* "--memory" */
        const char *arg;     /* "MIB" or NULL when the flag takes no value */
        const char *help;
};
const struct run_flag *run_flags(size_t *ret_n);
