/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/gitindex.h"
#include "tap.h"
#include "util/strv.h"

/* Builds index files by hand, as git lays them out (Documentation/gitformat-index). */
struct idx {
        uint8_t b[4096];
        size_t n;
        unsigned version, hashsz;
        char prev[256];
};

static void put32(struct idx *x, uint32_t v)
{
        x->b[x->n++] = (uint8_t)(v >> 24);
        x->b[x->n++] = (uint8_t)(v >> 16);
        x->b[x->n++] = (uint8_t)(v >> 8);
        x->b[x->n++] = (uint8_t)v;
}

static void start(struct idx *x, unsigned version, unsigned count, unsigned hashsz)
{
        memset(x, 0, sizeof *x);
        x->version = version;
        x->hashsz = hashsz;
        memcpy(x->b, "DIRC", 4);
        x->n = 4;
        put32(x, version);
        put32(x, count);
}

static void entry(struct idx *x, uint32_t mode, const char *path, bool extended)
{
        size_t begin = x->n;
        for (int i = 0; i < 6; i++)
                put32(x, 0);
        put32(x, mode);
        for (int i = 0; i < 3; i++)
                put32(x, 0);
        memset(x->b + x->n, 0xab, x->hashsz);
        x->n += x->hashsz;
        size_t len = strlen(path);
        uint16_t flags = (uint16_t)((len < 0xfff ? len : 0xfff) | (extended ? 0x4000 : 0));
        x->b[x->n++] = (uint8_t)(flags >> 8);
        x->b[x->n++] = (uint8_t)flags;
        if (extended) {
                x->b[x->n++] = 0;
                x->b[x->n++] = 0;
        }
        if (x->version == 4) {
                size_t common = 0, plen = strlen(x->prev);
                while (common < plen && path[common] == x->prev[common])
                        common++;
                size_t strip = plen - common;
                /* Values below 128 are one byte in git's varint. */
                x->b[x->n++] = (uint8_t)strip;
                memcpy(x->b + x->n, path + common, len - common + 1);
                x->n += len - common + 1;
                snprintf(x->prev, sizeof x->prev, "%s", path);
        } else {
                memcpy(x->b + x->n, path, len);
                x->n += len;
                size_t padded = ((x->n - begin) + 8) & ~(size_t)7;
                memset(x->b + x->n, 0, begin + padded - x->n);
                x->n = begin + padded;
        }
}

static void finish(struct idx *x, bool with_extension)
{
        if (with_extension) {
                memcpy(x->b + x->n, "TREE", 4);
                x->n += 4;
                put32(x, 3);
                memcpy(x->b + x->n, "abc", 3);
                x->n += 3;
        }
        memset(x->b + x->n, 0xcd, x->hashsz);
        x->n += x->hashsz;
}

static void expect(struct idx *x, const char *want, const char *what)
{
        char **paths = NULL;
        int r = gitindex_parse_gitlinks(x->b, x->n, &paths);
        char joined[512] = "";
        for (size_t i = 0; r == 0 && paths[i]; i++)
                snprintf(joined + strlen(joined), sizeof joined - strlen(joined), "%s%s", i ? "," : "", paths[i]);
        tap_is_str(r == 0 ? joined : NULL, want, "%s", what);
        strv_free(paths);
}

static void expect_invalid(const uint8_t *b, size_t n, const char *what)
{
        char **paths = NULL;
        int r = gitindex_parse_gitlinks(b, n, &paths);
        tap_is_int(r, -EINVAL, "%s", what);
        strv_free(paths);
}

int main(void)
{
        struct idx x;

        for (unsigned hs = 20; hs <= 32; hs += 12) {
                start(&x, 2, 4, hs);
                entry(&x, 0100644, "README", false);
                entry(&x, 0160000, "lib/sub", false);
                entry(&x, 0120000, "link", false);
                entry(&x, 0160000, "vendor/x", false);
                finish(&x, true);
                expect(&x, "lib/sub,vendor/x", hs == 20 ? "v2, SHA-1: gitlinks only" : "v2, SHA-256: gitlinks only");
        }

        start(&x, 3, 2, 20);
        entry(&x, 0160000, "a", true);
        entry(&x, 0100644, "b", false);
        finish(&x, false);
        expect(&x, "a", "v3 with an extended-flags entry");

        start(&x, 4, 4, 20);
        entry(&x, 0100644, "src/main.c", false);
        entry(&x, 0160000, "src/module", false);
        entry(&x, 0160000, "src/modules2", false);
        entry(&x, 0100644, "zz", false);
        finish(&x, true);
        expect(&x, "src/module,src/modules2", "v4 prefix-compressed paths");

        start(&x, 2, 0, 20);
        finish(&x, false);
        expect(&x, "", "an empty index");

        /* Paths git would never write do not become mounts. */
        start(&x, 2, 5, 20);
        entry(&x, 0160000, "../out", false);
        entry(&x, 0160000, "/abs", false);
        entry(&x, 0160000, "a//b", false);
        entry(&x, 0160000, "a/./b", false);
        entry(&x, 0160000, "ok", false);
        finish(&x, false);
        expect(&x, "ok", "hostile gitlink paths are skipped");

        start(&x, 2, 2, 20);
        entry(&x, 0160000, "a", false);
        entry(&x, 0160000, "b", false);
        finish(&x, false);
        for (size_t cut = 0; cut < x.n; cut += 7)
                expect_invalid(x.b, cut, "truncated");
        uint8_t bad[64] = "DIRX";
        expect_invalid(bad, sizeof bad, "wrong signature");
        start(&x, 5, 0, 20);
        finish(&x, false);
        expect_invalid(x.b, x.n, "unknown version 5");
        start(&x, 2, 1, 20);
        entry(&x, 0160000, "abc", false);
        x.b[12 + 40 + 20 + 1] = 7; /* name length disagrees */
        finish(&x, false);
        expect_invalid(x.b, x.n, "name length mismatch");
        start(&x, 2, 1, 20);
        entry(&x, 0160000, "abc", false);
        memcpy(x.b + x.n, "TREE", 4);
        x.n += 4;
        put32(&x, 1000);
        finish(&x, false);
        expect_invalid(x.b, x.n, "extension size past the end");
        start(&x, 4, 1, 20);
        entry(&x, 0160000, "abc", false);
        x.b[12 + 40 + 20 + 2] = 9; /* strips more than the previous path had */
        finish(&x, false);
        expect_invalid(x.b, x.n, "v4 strip longer than the previous path");

        return tap_done();
}
