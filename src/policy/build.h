/* SPDX-License-Identifier: MIT */
/* From `moat run` options (and the calling environment) to a policy. */
#pragma once

#include "cli/run_args.h"
#include "policy/policy.h"
#include "util/error.h"

/* The environment the builder reads: injected so tests need not change the
 * real one. */
struct build_env {
        char *const *environ;   /* the caller's environment */
        const char *cwd;        /* the current directory */
        uid_t uid;
        gid_t gid;
        const char *user;       /* login name */
        const char *home;       /* the user's home directory on the host */
        uint64_t mem_total_mib; /* for the default memory limit */
};

/* Fills env from the process (getcwd, getpwuid, /proc/meminfo). */
int build_env_from_process(struct build_env *env, char **ret_cwd_storage);

int policy_build(const struct run_options *o, const struct build_env *env, struct policy *ret,
                 struct moat_error *e);
