/* SPDX-License-Identifier: MIT */
/* Runs a command under a seccomp filter that takes kernel features away, so
 * the tests can exercise moat's fallback and fail-closed paths on a kernel
 * that has them all:
 *   shim [--no-userns] [--no-landlock] -- COMMAND [ARGS...]
 * --no-userns: unshare/clone with CLONE_NEWUSER fail with EPERM (as under
 * Ubuntu's AppArmor restriction or a container's seccomp profile), clone3
 * with ENOSYS. --no-landlock: landlock_* fail with ENOSYS (an old kernel). */
#include <errno.h>
#include <sched.h>
#include <seccomp.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

int main(int argc, char **argv)
{
        int no_userns = 0, no_landlock = 0, i = 1;
        for (; i < argc && strcmp(argv[i], "--") != 0; i++) {
                if (strcmp(argv[i], "--no-userns") == 0)
                        no_userns = 1;
                else if (strcmp(argv[i], "--no-landlock") == 0)
                        no_landlock = 1;
                else {
                        fprintf(stderr, "shim: unknown option %s\n", argv[i]);
                        return 2;
                }
        }
        if (i + 1 >= argc) {
                fprintf(stderr, "usage: shim [--no-userns] [--no-landlock] -- COMMAND [ARGS...]\n");
                return 2;
        }
        scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
        if (!ctx)
                return 1;
        int r = 0;
        if (no_userns) {
                r |= seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(unshare), 1,
                                      SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_NEWUSER, CLONE_NEWUSER));
                r |= seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(clone), 1,
                                      SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_NEWUSER, CLONE_NEWUSER));
                r |= seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
        }
        if (no_landlock) {
                r |= seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(landlock_create_ruleset), 0);
                r |= seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(landlock_add_rule), 0);
                r |= seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(landlock_restrict_self), 0);
        }
        if (r || seccomp_load(ctx) < 0) {
                perror("shim: loading the filter");
                return 1;
        }
        seccomp_release(ctx);
        execvp(argv[i + 1], argv + i + 1);
        perror("shim: exec");
        return 127;
}
