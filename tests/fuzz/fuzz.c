/* SPDX-License-Identifier: MIT */
/* One fuzz target for the parsers that read untrusted bytes, with a mode
 * switch on the first byte:
 *   0  `moat run` arguments (NUL-separated) through the option parser and
 *      the policy builder, with a fixed fake environment
 *   1  path normalisation
 *   2  escaping for the terminal and for JSON
 *   3  the JSON reader (tool profiles, API requests), on an exact-size
 *      copy so that reading one byte too far is caught
 * Built as a libFuzzer target with -Dfuzz=true (clang); always built as
 * test-fuzz-replay, which runs every file of tests/fuzz/corpus. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cli/run_args.h"
#include "policy/build.h"
#include "util/json.h"
#include "util/json_read.h"
#include "util/log.h"
#include "util/path.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_args(const char *s, size_t n)
{
        char *argv[64];
        int argc = 0;
        for (size_t i = 0; i < n && argc < 64;) {
                argv[argc++] = (char *)s + i;
                i += strlen(s + i) + 1;
        }
        struct run_options o;
        struct moat_error e = { 0 };
        if (run_args_parse("run", argc, argv, &o, &e) == 0) {
                char *environ_[] = { "HOME=/home/u", "TERM=xterm", "LC_ALL=C", NULL };
                struct build_env be = { .environ = environ_, .cwd = "/home/u/p", .uid = 1000, .gid = 1000,
                                        .user = "u", .home = "/home/u", .mem_total_mib = 1024 };
                struct policy p;
                (void)policy_build(&o, &be, &p, &e);
                policy_free(&p);
        }
        run_options_free(&o);
}

/* What every tree jv_parse returns must hold; depth counts the containers
 * around v, at most 64 with v's own. */
static void check_jv(const struct jv *v, unsigned depth)
{
        if (!v || v->line < 1 || v->col < 1)
                abort();
        if ((v->type == JV_ARRAY || v->type == JV_OBJECT) && depth + 1 > JV_MAX_DEPTH)
                abort();
        switch (v->type) {
        case JV_STRING:
                if (!v->str.s || strlen(v->str.s) != v->str.len)
                        abort();
                break;
        case JV_ARRAY:
                for (size_t i = 0; i < v->arr.n; i++)
                        check_jv(v->arr.items[i], depth + 1);
                break;
        case JV_OBJECT:
                for (size_t i = 0; i < v->obj.n; i++) {
                        const struct jv_member *m = &v->obj.members[i];
                        if (!m->key || strlen(m->key) != m->key_len || m->line < 1 || m->col < 1)
                                abort();
                        if (v->obj.n <= 64 && jv_member_get(v, m->key) != m)
                                abort(); /* a duplicate key got through */
                        check_jv(m->value, depth + 1);
                }
                break;
        case JV_NULL:
        case JV_BOOL:
        case JV_NUMBER:
                break;
        case _JV_TYPE_MAX:
                abort();
        }
}

static void fuzz_json_read(const uint8_t *data, size_t n)
{
        char *exact = malloc(n ? n : 1);
        if (!exact)
                return;
        memcpy(exact, data, n);
        struct jv_error e;
        struct jv *v = jv_parse(exact, n, &e);
        if (v)
                check_jv(v, 0);
        else if (e.line < 1 || e.col < 1 || !e.msg[0] || !memchr(e.msg, '\0', sizeof e.msg))
                abort();
        jv_free(v);
        free(exact);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        if (size < 1 || size > 65536)
                return 0;
        /* A NUL-terminated copy, so every piece is a C string. */
        char *s = malloc(size + 1);
        if (!s)
                return 0;
        memcpy(s, data + 1, size - 1);
        s[size - 1] = '\0';
        switch (data[0] % 4) {
        case 0:
                fuzz_args(s, size - 1);
                break;
        case 1: {
                char *out = NULL;
                if (path_normalize(s, &out) == 0) {
                        char *again = NULL;
                        /* Normalising is idempotent. */
                        if (path_normalize(out, &again) != 0 || strcmp(out, again) != 0)
                                abort();
                        free(again);
                }
                free(out);
                break;
        }
        case 2: {
                char buf[512];
                log_escape(s, buf, sizeof buf);
                for (const char *p = buf; *p; p++)
                        if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
                                abort(); /* nothing may reach the terminal raw */
                struct json j = { 0 };
                json_begin_object(&j);
                json_str(&j, s, s);
                json_end_object(&j);
                json_free(&j);
                break;
        }
        case 3:
                fuzz_json_read(data + 1, size - 1);
                break;
        }
        free(s);
        return 0;
}
