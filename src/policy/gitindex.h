/* SPDX-License-Identifier: MIT */
/* Reads the gitlinks (submodule entries, mode 160000) out of a git index.
 *
 * Why: for every gitlink in the index, the host's `git status` runs a child
 * git inside that directory, which reads that directory's .git and its
 * config, core.fsmonitor included. A command that may write the project could
 * replace `sub/.git` (a file pointing into .git/modules, or an embedded
 * repository) with a repository of its own and have the host run its
 * commands. So each gitlink's `.git` is a protected path. */
#pragma once

#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>

/* Pure: parses an index file's bytes (versions 2, 3 and 4, SHA-1 or SHA-256
 * object names) and returns the gitlink paths in index order, each a
 * relative path git itself would accept (no empty, "." or ".." components,
 * no leading '/'); others are skipped. Returns 0, -EINVAL for a malformed or
 * unsupported index, or -ENOMEM. */
int gitindex_parse_gitlinks(const uint8_t *buf, size_t len, char ***ret_paths);

/* Reads PROJECT/.git/index beneath the project directory fd (no symlinks
 * followed). A project without a .git directory or index yields an empty
 * list. Returns 0 or -errno (-EINVAL: malformed, -EFBIG: too large). */
int gitindex_read_gitlinks(int project_fd, char ***ret_paths);

/* --git-write leaves .git writable but for hooks and config, which leaves two
 * ways to have the host's git run a command's code later: creating
 * .git/commondir (git then reads the config of the repository it names) and
 * staging a gitlink to a repository the command wrote. Neither can be
 * blocked by a mount without breaking git, so the run is checked after it
 * ends, when nothing inside can race the check: a new commondir is moved
 * aside and new gitlinks are reported. */
struct git_snapshot {
        bool taken;
        bool commondir;  /* .git/commondir existed before the run */
        char **gitlinks; /* the index's gitlinks before the run */
};

int git_snapshot_take(const char *project, struct git_snapshot *s);
/* Compares with the state after the run and warns on stderr. Returns the
 * number of findings. */
int git_snapshot_check(const char *project, struct git_snapshot *s);
void git_snapshot_free(struct git_snapshot *s);
