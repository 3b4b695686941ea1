/* SPDX-License-Identifier: MIT */
#include "policy/gitindex.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/log.h"
#include "util/macro.h"
#include "util/path.h"
#include "util/strv.h"

#define GITLINK_MODE 0160000u
#define MODE_TYPE_MASK 0170000u
#define ENTRY_FIXED 40u        /* ctime, mtime, dev, ino, mode, uid, gid, size: ten 32-bit words */
#define FLAG_EXTENDED 0x4000u
#define INDEX_MAX_BYTES (256u << 20)

static uint32_t be32(const uint8_t *p)
{
        return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint16_t be16(const uint8_t *p)
{
        return (uint16_t)(p[0] << 8 | p[1]);
}

/* git's offset varint (varint.c): big-endian 7-bit groups, each
 * continuation adding one so that every value has a single encoding. */
static bool read_varint(const uint8_t **p, const uint8_t *end, size_t *ret)
{
        size_t v = 0;
        for (unsigned n = 0; *p < end && n < 10; n++) {
                uint8_t c = *(*p)++;
                v = (v << 7) | (c & 0x7f);
                if (!(c & 0x80)) {
                        *ret = v;
                        return true;
                }
                v++;
        }
        return false;
}

/* What git's verify_path would refuse never reaches a mount: a path with an
 * empty, "." or ".." component or a leading '/'. */
static bool path_acceptable(const char *s, size_t n)
{
        if (n == 0 || s[0] == '/' || s[n - 1] == '/')
                return false;
        for (size_t i = 0; i < n;) {
                size_t j = i;
                while (j < n && s[j] != '/')
                        j++;
                size_t c = j - i;
                if (c == 0 || (c == 1 && s[i] == '.') || (c == 2 && s[i] == '.' && s[i + 1] == '.'))
                        return false;
                i = j + 1;
        }
        return true;
}

/* One attempt with a given object-name size: the layout must account for
 * every byte (entries, then extensions, then the trailing checksum), which
 * is how a SHA-1 index is told from a SHA-256 one without reading config. */
static int parse_with_hash(const uint8_t *buf, size_t len, size_t hashsz, char ***ret_paths)
{
        if (len < 12 + hashsz || memcmp(buf, "DIRC", 4) != 0)
                return -EINVAL;
        uint32_t version = be32(buf + 4), count = be32(buf + 8);
        if (version < 2 || version > 4)
                return -EINVAL;
        const uint8_t *p = buf + 12, *end = buf + len - hashsz;
        _cleanup_free_ char *prev = NULL; /* version 4: the previous entry's path */
        size_t prev_len = 0;
        _cleanup_strv_free_ char **out = NULL;
        for (uint32_t i = 0; i < count; i++) {
                const uint8_t *entry = p;
                if ((size_t)(end - p) < ENTRY_FIXED + hashsz + 2)
                        return -EINVAL;
                uint32_t mode = be32(p + 24);
                uint16_t flags = be16(p + ENTRY_FIXED + hashsz);
                p += ENTRY_FIXED + hashsz + 2;
                if (flags & FLAG_EXTENDED) {
                        if (version < 3 || end - p < 2)
                                return -EINVAL;
                        p += 2;
                }
                const char *name;
                size_t name_len;
                _cleanup_free_ char *full = NULL;
                if (version == 4) {
                        size_t strip;
                        if (!read_varint(&p, end, &strip) || strip > prev_len)
                                return -EINVAL;
                        const uint8_t *nul = memchr(p, '\0', (size_t)(end - p));
                        if (!nul)
                                return -EINVAL;
                        size_t suffix = (size_t)(nul - p), keep = prev_len - strip;
                        full = malloc(keep + suffix + 1);
                        if (!full)
                                return -ENOMEM;
                        if (keep)
                                memcpy(full, prev, keep);
                        memcpy(full + keep, p, suffix);
                        full[keep + suffix] = '\0';
                        p = nul + 1;
                        name = full;
                        name_len = keep + suffix;
                } else {
                        const uint8_t *nul = memchr(p, '\0', (size_t)(end - p));
                        if (!nul)
                                return -EINVAL;
                        name = (const char *)p;
                        name_len = (size_t)(nul - p);
                        /* Padded with 1 to 8 NULs to a multiple of 8 bytes. */
                        size_t entry_len = ((size_t)(nul - entry) + 8) & ~(size_t)7;
                        if ((size_t)(end - entry) < entry_len)
                                return -EINVAL;
                        p = entry + entry_len;
                }
                if ((flags & 0xfff) != 0xfff && (flags & 0xfff) != name_len)
                        return -EINVAL;
                if ((mode & MODE_TYPE_MASK) == GITLINK_MODE && path_acceptable(name, name_len)) {
                        char *copy = strndup(name, name_len);
                        if (!copy || strv_consume(&out, copy) < 0) {
                                free(copy);
                                return -ENOMEM;
                        }
                }
                if (version == 4) {
                        free(prev);
                        prev = TAKE_PTR(full);
                        prev_len = name_len;
                }
        }
        /* Extensions: a four-byte signature and a 32-bit size each. */
        while (p < end) {
                if (end - p < 8 || be32(p + 4) > (size_t)(end - p - 8))
                        return -EINVAL;
                p += 8 + be32(p + 4);
        }
        if (!out && !(out = calloc(1, sizeof *out)))
                return -ENOMEM;
        *ret_paths = TAKE_PTR(out);
        return 0;
}

int gitindex_parse_gitlinks(const uint8_t *buf, size_t len, char ***ret_paths)
{
        int r = parse_with_hash(buf, len, 20, ret_paths);
        if (r == -EINVAL)
                r = parse_with_hash(buf, len, 32, ret_paths);
        return r;
}

int gitindex_read_gitlinks(int project_fd, char ***ret_paths)
{
        _cleanup_close_ int fd = path_open_beneath(project_fd, ".git/index", O_RDONLY | O_NOCTTY | O_NONBLOCK);
        if (fd == -ENOENT || fd == -ENOTDIR) {
                /* No repository here, or .git is a file (a linked worktree
                 * whose index lives in the main repository, outside). */
                *ret_paths = calloc(1, sizeof **ret_paths);
                return *ret_paths ? 0 : -ENOMEM;
        }
        if (fd < 0)
                return fd;
        struct stat st;
        if (fstat(fd, &st) < 0)
                return negerrno();
        if (!S_ISREG(st.st_mode))
                return -EINVAL;
        if ((uint64_t)st.st_size > INDEX_MAX_BYTES)
                return -EFBIG;
        if (st.st_size == 0)
                return -EINVAL;
        /* Read, not mmap: a concurrent run truncating the file would turn a
         * mapping into SIGBUS. */
        size_t size = (size_t)st.st_size, got = 0;
        _cleanup_free_ uint8_t *buf = malloc(size);
        if (!buf)
                return -ENOMEM;
        while (got < size) {
                ssize_t n = RETRY_EINTR(read(fd, buf + got, size - got));
                if (n < 0)
                        return negerrno();
                if (n == 0)
                        return -EINVAL; /* shrank under us: git was rewriting it */
                got += (size_t)n;
        }
        return gitindex_parse_gitlinks(buf, size, ret_paths);
}

static bool has_commondir(int proj)
{
        _cleanup_close_ int fd = path_open_beneath(proj, ".git/commondir", O_PATH | O_NOFOLLOW);
        return fd >= 0;
}

int git_snapshot_take(const char *project, struct git_snapshot *s)
{
        memset(s, 0, sizeof *s);
        _cleanup_close_ int proj = open(project, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (proj < 0)
                return negerrno();
        s->commondir = has_commondir(proj);
        int r = gitindex_read_gitlinks(proj, &s->gitlinks);
        if (r == -ENOMEM)
                return r;
        s->taken = true;
        return 0;
}

int git_snapshot_check(const char *project, struct git_snapshot *s)
{
        if (!s->taken)
                return 0;
        _cleanup_close_ int proj = open(project, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (proj < 0)
                return 0;
        int found = 0;
        char esc[1024];
        if (!s->commondir && has_commondir(proj)) {
                found++;
                _cleanup_close_ int git = path_open_beneath(proj, ".git", O_PATH | O_DIRECTORY);
                if (git >= 0 && renameat(git, "commondir", git, "commondir.moat-refused") == 0)
                        log_warn("the command created %s/.git/commondir, which would make git read another "
                                 "repository's config; moved it to .git/commondir.moat-refused",
                                 log_escape(project, esc, sizeof esc));
                else
                        log_warn("the command created %s/.git/commondir, which makes git read another "
                                 "repository's config: inspect it and remove it before running git",
                                 log_escape(project, esc, sizeof esc));
        }
        _cleanup_strv_free_ char **after = NULL;
        if (gitindex_read_gitlinks(proj, &after) < 0 || !s->gitlinks)
                return found;
        for (size_t i = 0; after[i]; i++) {
                bool known = false;
                for (size_t j = 0; s->gitlinks[j] && !known; j++)
                        known = strcmp(after[i], s->gitlinks[j]) == 0;
                if (known)
                        continue;
                found++;
                log_warn("the command staged a submodule at %s in the index: the host's git status would run git "
                         "with %s/.git's config; check it, or `git rm --cached %s`",
                         log_escape(after[i], esc, sizeof esc), esc, esc);
        }
        return found;
}

void git_snapshot_free(struct git_snapshot *s)
{
        strv_free(s->gitlinks);
        memset(s, 0, sizeof *s);
}
