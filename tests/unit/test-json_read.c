/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>

#include "tap.h"
#include "util/json_read.h"
#include "util/strv.h"

static struct jv *parse(const char *s)
{
        struct jv_error e;
        struct jv *v = jv_parse(s, strlen(s), &e);
        if (!v)
                printf("#   unexpected error %u:%u: %s\n", e.line, e.col, e.msg);
        return v;
}

static void error_n(const char *text, size_t len, unsigned line, unsigned col, const char *msg, const char *name)
{
        struct jv_error e;
        struct jv *v = jv_parse(text, len, &e);
        bool ok = !v && e.line == line && e.col == col && strcmp(e.msg, msg) == 0;
        tap_ok(ok, "refused: %s (%u:%u)", name, line, col);
        if (!ok)
                printf("#   got %s %u:%u \"%s\", expected %u:%u \"%s\"\n", v ? "a value and" : "error",
                       e.line, e.col, e.msg, line, col, msg);
        jv_free(v);
}
#define error(text, line, col, msg, name) error_n((text), strlen(text), (line), (col), (msg), (name))

static double now(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void test_scalars(void)
{
        static const struct { const char *text, *name; enum jv_type type; } cases[] = {
                { "null", "null", JV_NULL },
                { " true", "true after a space", JV_BOOL },
                { "false ", "false before a space", JV_BOOL },
                { "0", "0", JV_NUMBER },
                { "\"\"", "empty string", JV_STRING },
                { "[]", "empty array", JV_ARRAY },
                { "{}", "empty object", JV_OBJECT },
                { "\t\r\n [ ] \n", "array among all four blanks", JV_ARRAY },
        };
        for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
                _cleanup_jv_free_ struct jv *v = parse(cases[i].text);
                tap_ok(v && v->type == cases[i].type, "%s parses as %s", cases[i].name, jv_type_name(cases[i].type));
        }

        _cleanup_jv_free_ struct jv *t = parse("true"), *f = parse("false");
        tap_ok(t && t->b && f && !f->b, "true and false");

        static const struct { const char *text; bool is_int; long long i; double d; } nums[] = {
                { "0", true, 0, 0 },
                { "-0", true, 0, -0.0 },
                { "123", true, 123, 123 },
                { "-45", true, -45, -45 },
                { "1.5", false, 0, 1.5 },
                { "1e3", false, 0, 1000 },
                { "-2.5E-2", false, 0, -0.025 },
                { "10E+1", false, 0, 100 },
                { "1.0", false, 0, 1 },
                { "9223372036854775807", true, 9223372036854775807LL, 9223372036854775807.0 },
                { "-9223372036854775808", true, -9223372036854775807LL - 1, -9223372036854775808.0 },
                { "9223372036854775808", false, 0, 9223372036854775808.0 },
                { "1e-400", false, 0, 0 },
                { "123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890",
                  false, 0, 123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890.0 },
        };
        for (size_t i = 0; i < ARRAY_SIZE(nums); i++) {
                _cleanup_jv_free_ struct jv *v = parse(nums[i].text);
                bool ok = v && v->type == JV_NUMBER && v->num.is_int == nums[i].is_int &&
                          (!nums[i].is_int || v->num.i == nums[i].i) && v->num.d == nums[i].d;
                tap_ok(ok, "number %s (is_int %d)", nums[i].text, nums[i].is_int);
        }
        _cleanup_jv_free_ struct jv *mz = parse("-0");
        tap_ok(mz && mz->num.d == 0 && (1 / mz->num.d) < 0, "-0 keeps its sign as a double");
}

static void test_strings(void)
{
        _cleanup_jv_free_ struct jv *v =
                parse("\"q\\\" b\\\\ s\\/ \\b\\f\\n\\r\\t \\u0041\\u00e9\\u20AC\\ud83d\\ude00 \x7f\"");
        static const char want[] = "q\" b\\ s/ \b\f\n\r\t A\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80 \x7f";
        tap_ok(v && v->type == JV_STRING && v->str.len == sizeof want - 1 && memcmp(v->str.s, want, sizeof want) == 0,
               "escapes, \\u and a surrogate pair decode to UTF-8");

        _cleanup_jv_free_ struct jv *raw = parse("\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xf4\x8f\xbf\xbf\xef\xbb\xbf\"");
        tap_ok(raw && raw->str.len == 16 && strlen(raw->str.s) == raw->str.len, "raw UTF-8 up to U+10FFFF kept");

        _cleanup_jv_free_ struct jv *e = parse("\"\"");
        tap_ok(e && e->str.len == 0 && e->str.s && e->str.s[0] == '\0', "empty string is an empty C string");
}

static void test_containers(void)
{
        _cleanup_jv_free_ struct jv *v =
                parse("{\"a\": [1, \"two\", null, {\"b\": false}], \"c\": {}, \"\": 3, \"a\\u00e9\": []}");
        tap_ok(v && v->type == JV_OBJECT && v->obj.n == 4, "object with 4 members");
        if (!v)
                return;
        tap_is_str(v->obj.members[0].key, "a", "members in source order (0)");
        tap_is_str(v->obj.members[3].key, "a\xc3\xa9", "members in source order (3)");
        const struct jv *a = jv_get(v, "a");
        tap_ok(a && a->type == JV_ARRAY && a->arr.n == 4, "array with 4 items");
        if (!a)
                return;
        tap_ok(a->arr.items[0]->num.i == 1 && strcmp(a->arr.items[1]->str.s, "two") == 0 &&
               a->arr.items[2]->type == JV_NULL, "array items");
        const struct jv *b = jv_get(a->arr.items[3], "b");
        tap_ok(b && b->type == JV_BOOL && !b->b, "nested object member");
        tap_ok(jv_get(v, "c") && jv_get(v, "c")->obj.n == 0, "empty object member");
        tap_ok(jv_get(v, "") && jv_get(v, "")->num.i == 3, "empty key");
        tap_ok(!jv_get(v, "zz") && !jv_member_get(v, "zz") && !jv_get(a, "a") && !jv_get(NULL, "a") &&
               !jv_get(v, NULL), "missing key, non-object and NULL give NULL");
        const struct jv_member *m = jv_member_get(v, "c");
        tap_ok(m && m->key_len == 1 && m->value == jv_get(v, "c"), "jv_member_get");

        tap_is_str(jv_type_name(JV_NULL), "null", "type name null");
        tap_is_str(jv_type_name(JV_BOOL), "boolean", "type name boolean");
        tap_is_str(jv_type_name(JV_NUMBER), "number", "type name number");
        tap_is_str(jv_type_name(JV_STRING), "string", "type name string");
        tap_is_str(jv_type_name(JV_ARRAY), "array", "type name array");
        tap_is_str(jv_type_name(JV_OBJECT), "object", "type name object");

        jv_free(NULL);
        struct jv *n = jv_parse("[1", 2, NULL);
        tap_ok(!n, "a NULL error pointer is allowed");
        n = jv_parse(NULL, 0, NULL);
        tap_ok(!n, "NULL text is empty input");
}

static void test_positions(void)
{
        /* A tab is one column, é and € one each, CR LF and a lone CR one break each. */
        const char *text = "{\n"
                           "\t\"name\": \"\xc3\xa9\xe2\x82\xac\", \"n\": 5,\r\n"
                           "  \"list\": [1,\r\n"
                           "   2, {\"k\": null}],\r"
                           "\"\xc3\xbc\": true }";
        _cleanup_jv_free_ struct jv *v = parse(text);
        tap_ok(v && v->line == 1 && v->col == 1 && v->obj.n == 4, "multi-line document");
        if (!v)
                return;
        const struct jv_member *m;
        m = jv_member_get(v, "name");
        tap_ok(m && m->line == 2 && m->col == 2 && m->value->line == 2 && m->value->col == 10,
               "key after a tab at 2:2, value at 2:10");
        m = jv_member_get(v, "n");
        tap_ok(m && m->line == 2 && m->col == 16 && m->value->col == 21, "columns count characters, not bytes");
        m = jv_member_get(v, "list");
        tap_ok(m && m->line == 3 && m->col == 3 && m->value->line == 3 && m->value->col == 11 &&
               m->value->arr.items[0]->col == 12, "CR LF is one line break");
        const struct jv *two = m ? m->value->arr.items[1] : NULL, *o = m ? m->value->arr.items[2] : NULL;
        tap_ok(two && two->line == 4 && two->col == 4 && o->line == 4 && o->col == 7 &&
               o->obj.members[0].line == 4 && o->obj.members[0].col == 8 && o->obj.members[0].value->col == 13,
               "nested positions on line 4");
        m = jv_member_get(v, "\xc3\xbc");
        tap_ok(m && m->line == 5 && m->col == 1 && m->value->line == 5 && m->value->col == 6,
               "a lone CR is a line break");

        error("[1,\r\r\n x]", 3, 2, "invalid literal \"x\" (expected true, false or null)", "line counting in errors");
        error("[\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\", x]", 1, 9, "invalid literal \"x\" (expected true, false or null)",
              "error column after multi-byte characters");
}

static void test_bom(void)
{
        _cleanup_jv_free_ struct jv *v = parse("\xef\xbb\xbf{\"a\": 1}");
        tap_ok(v && v->line == 1 && v->col == 1 && v->obj.members[0].col == 2, "leading BOM skipped, takes no column");
        error("\xef\xbb\xbf", 1, 1, "empty input: expected a JSON value", "BOM alone is empty");
        error("[\xef\xbb\xbf]", 1, 2, "expected a JSON value", "BOM elsewhere is a stray character");
        error("\xef\xbb\xbf\xef\xbb\xbf{}", 1, 1, "expected a JSON value", "only one BOM");
}

static void test_errors(void)
{
        error("", 1, 1, "empty input: expected a JSON value", "empty input");
        error("  \n  ", 2, 3, "empty input: expected a JSON value", "whitespace only");

        /* structure */
        error("[1,]", 1, 4, "expected a value after ',' (trailing commas are not allowed)", "trailing comma in array");
        error("{\"a\":1,}", 1, 8, "expected a key after ',' (trailing commas are not allowed)", "trailing comma in object");
        error("{\"a\":1 \"b\":2}", 1, 8, "expected ',' or '}' after object member", "missing comma in object");
        error("[1 2]", 1, 4, "expected ',' or ']' after array element", "missing comma in array");
        error("{\"a\" 1}", 1, 6, "expected ':' after object key", "missing colon");
        error("{\"a\":}", 1, 6, "expected a JSON value", "missing member value");
        error("[,1]", 1, 2, "expected a JSON value", "leading comma");
        error("{1:2}", 1, 2, "object keys must be strings in double quotes", "number as key");
        error("{a:1}", 1, 2, "object keys must be strings in double quotes", "bare key");
        error("{'a':1}", 1, 2, "strings must be in double quotes", "single-quoted key");
        error("['a']", 1, 2, "strings must be in double quotes", "single-quoted string");
        error("{[]:1}", 1, 2, "expected a string as object key", "array as key");
        error("[1}", 1, 3, "expected ',' or ']' after array element", "mismatched bracket");
        error("{\"a\":1]", 1, 7, "expected ',' or '}' after object member", "mismatched brace");

        /* comments */
        error("[1, /* c */ 2]", 1, 5, "comments are not allowed in JSON", "block comment");
        error("// c\n1", 1, 1, "comments are not allowed in JSON", "line comment first");
        error("{\"a\": 1, // c\n}", 1, 10, "comments are not allowed in JSON", "comment as key");
        error("[1] // c", 1, 5, "trailing characters after the JSON value", "comment after the value");

        /* literals */
        error("[NaN]", 1, 2, "invalid literal \"NaN\" (expected true, false or null)", "NaN");
        error("Infinity", 1, 1, "invalid literal \"Infinity\" (expected true, false or null)", "Infinity");
        error("-Infinity", 1, 2, "expected a digit after '-'", "-Infinity");
        error("tru", 1, 1, "invalid literal \"tru\" (expected true, false or null)", "truncated literal");
        error("True", 1, 1, "invalid literal \"True\" (expected true, false or null)", "literals are lower case");
        error("nulls", 1, 1, "invalid literal \"nulls\" (expected true, false or null)", "literal with a tail");
        error("[undefined]", 1, 2, "invalid literal \"undefined\" (expected true, false or null)", "undefined");

        /* numbers */
        error("01", 1, 1, "leading zeros are not allowed in numbers", "leading zero");
        error("-012", 1, 2, "leading zeros are not allowed in numbers", "negative leading zero");
        error("[0, 00]", 1, 5, "leading zeros are not allowed in numbers", "double zero");
        error("1.", 1, 3, "expected a digit after '.'", "no fraction digits");
        error("1.e5", 1, 3, "expected a digit after '.'", "no fraction digits before exponent");
        error(".5", 1, 1, "numbers must start with a digit", "leading dot");
        error("+1", 1, 1, "numbers must not start with '+'", "leading plus");
        error("-", 1, 2, "expected a digit after '-'", "lone minus");
        error("- 1", 1, 2, "expected a digit after '-'", "minus then space");
        error("1e", 1, 3, "expected a digit in the exponent", "empty exponent");
        error("[1E+]", 1, 5, "expected a digit in the exponent", "exponent sign only");
        error("1e999", 1, 1, "number out of range", "overflowing number");
        error("[-1e999]", 1, 2, "number out of range", "overflowing negative number");
        error("0x10", 1, 2, "trailing characters after the JSON value", "hex number");
        error("1.5.3", 1, 4, "trailing characters after the JSON value", "two dots");

        /* strings */
        error("\"a\tb\"", 1, 3, "control character in string (write it as an escape)", "raw tab in string");
        error("[\"a\nb\"]", 1, 4, "control character in string (write it as an escape)", "raw newline in string");
        error_n("\"a\0b\"", 5, 1, 3, "control character in string (write it as an escape)", "raw NUL in string");
        error("\"\\x\"", 1, 2, "invalid escape '\\x' in string", "unknown escape");
        error("\"\\'\"", 1, 2, "invalid escape '\\'' in string", "escaped single quote");
        error("\"\\\xc3\xa9\"", 1, 2, "invalid escape in string", "escaped non-ASCII");
        error("\"\\u12\"", 1, 2, "invalid \\u escape: expected four hex digits", "short \\u");
        error("\"\\u12", 1, 2, "invalid \\u escape: expected four hex digits", "\\u cut by the end");
        error("\"\\u00G0\"", 1, 2, "invalid \\u escape: expected four hex digits", "non-hex \\u");
        error("\"ab\\u0000\"", 1, 4, "\\u0000 is not allowed in strings", "\\u0000");
        error("\"\\ud800\"", 1, 2, "lone surrogate \\uD800 in string", "lone high surrogate");
        error("\"\\uDC00\"", 1, 2, "lone surrogate \\uDC00 in string", "lone low surrogate");
        error("\"x\\ud800\\u0041\"", 1, 3, "lone surrogate \\uD800 in string", "high surrogate then a non-surrogate");
        error("\"\\ud800\\ud800\"", 1, 2, "lone surrogate \\uD800 in string", "two high surrogates");
        error("\"\\ude00\\ud83d\"", 1, 2, "lone surrogate \\uDE00 in string", "pair in the wrong order");
        error("\"\\ud800\\u12\"", 1, 8, "invalid \\u escape: expected four hex digits", "bad escape after high surrogate");
        error("\"abc", 1, 1, "unterminated string", "unterminated string");
        error("[\"abc\\", 1, 2, "unterminated string", "unterminated string after a backslash");
        error("{\"a\": \"b\\\"}", 1, 7, "unterminated string", "escaped closing quote");

        /* UTF-8 */
        error("\"\xc3\xa9\xff\"", 1, 3, "invalid UTF-8", "0xFF byte");
        error("\"\xc0\xaf\"", 1, 2, "invalid UTF-8", "overlong 2-byte");
        error("\"\xe0\x80\xaf\"", 1, 2, "invalid UTF-8", "overlong 3-byte");
        error("\"\xf0\x80\x80\xaf\"", 1, 2, "invalid UTF-8", "overlong 4-byte");
        error("\"\xed\xa0\x80\"", 1, 2, "invalid UTF-8", "encoded surrogate");
        error("\"\xf4\x90\x80\x80\"", 1, 2, "invalid UTF-8", "above U+10FFFF");
        error("\"\xf5\x80\x80\x80\"", 1, 2, "invalid UTF-8", "0xF5 lead byte");
        error("\"\xe2\x82", 1, 2, "invalid UTF-8", "sequence cut by the end");
        error("\"\xe2\x82\"", 1, 2, "invalid UTF-8", "sequence cut by a quote");
        error("\"a\x80\"", 1, 3, "invalid UTF-8", "stray continuation byte");
        error("\x80", 1, 1, "invalid UTF-8", "invalid UTF-8 where a value goes");
        error("[1\xff]", 1, 3, "invalid UTF-8", "invalid UTF-8 after a value");
        error("{\"a\"\xc0\x80:1}", 1, 5, "invalid UTF-8", "invalid UTF-8 before a colon");
        error("[\xc3\xa9]", 1, 2, "expected a JSON value", "valid non-ASCII outside a string");
        error_n("[1,\0]", 5, 1, 4, "expected a JSON value", "NUL outside a string");

        /* duplicates */
        error("{\"a\": 1,\n \"b\": 2,\n \"a\": 3}", 3, 2, "duplicate key \"a\"", "duplicate key");
        error("[{\"x\": {\"k\": 1, \"k\": 1}}]", 1, 17, "duplicate key \"k\"", "duplicate key in a nested object");
        error("{\"a\":1,\"b\":2,\"b\":3,\"a\":4}", 1, 14, "duplicate key \"b\"", "first second occurrence is reported");
        error("{\"\\n\\\"\\\\\": 1, \"\\n\\\"\\\\\": 2}", 1, 15, "duplicate key \"\\u000A\\\"\\\\\"",
              "control characters and quotes escaped in the message");
        error("{\"\xc2\x85\": 1, \"\\u0085\": 2}", 1, 10, "duplicate key \"\\u0085\"",
              "C1 control escaped; raw and escaped spellings are the same key");
        {
                const char *t = "{\"a\": 1, \"a\\u0000\": 2}";
                _cleanup_jv_free_ struct jv *v = jv_parse(t, strlen(t), NULL);
                tap_ok(!v, "a key with \\u0000 cannot alias a shorter one");
        }
        {
                _cleanup_jv_free_ struct jv *v = parse("{\"a\": 1, \"A\": 2, \"a \": 3, \"\\u0061b\": 4}");
                tap_ok(v && v->obj.n == 4, "keys differing in case, space or length are distinct");
        }
        {
                char big[200];
                snprintf(big, sizeof big, "{\"%s\": 1, \"%s\": 2}", "0123456789012345678901234567890123456789"
                         "0123456789012345678901234567890123456789", "0123456789012345678901234567890123456789"
                         "0123456789012345678901234567890123456789");
                struct jv_error e;
                struct jv *v = jv_parse(big, strlen(big), &e);
                tap_ok(!v && strstr(e.msg, "duplicate key \"0123") && strstr(e.msg, "...\"") && strlen(e.msg) < 100,
                       "a long key is cut in the message");
        }

        /* end of input and trailing text */
        error("[1,", 1, 4, "unexpected end of input: '[' at 1:1 is not closed", "end after a comma");
        error("{\"a\":[1,\n", 2, 1, "unexpected end of input: '[' at 1:6 is not closed", "innermost open bracket named");
        error("{\"a\"", 1, 5, "unexpected end of input: '{' at 1:1 is not closed", "end after a key");
        error("{\"a\":", 1, 6, "unexpected end of input: '{' at 1:1 is not closed", "end after a colon");
        error("[", 1, 2, "unexpected end of input: '[' at 1:1 is not closed", "lone bracket");
        error("{} x", 1, 4, "trailing characters after the JSON value", "word after the value");
        error("1 2", 1, 3, "trailing characters after the JSON value", "two values");
        error("[]]", 1, 3, "trailing characters after the JSON value", "extra bracket");
        error("\"a\"\n\n  ,", 3, 3, "trailing characters after the JSON value", "trailing comma at top level");
        error("]", 1, 1, "expected a JSON value", "closing bracket alone");
}

static void test_depth(void)
{
        char buf[256];
        size_t n = 0;
        for (int i = 0; i < JV_MAX_DEPTH; i++)
                buf[n++] = '[';
        for (int i = 0; i < JV_MAX_DEPTH; i++)
                buf[n++] = ']';
        _cleanup_jv_free_ struct jv *v = jv_parse(buf, n, NULL);
        tap_ok(v != NULL, "64 nested arrays accepted");

        n = 0;
        for (int i = 0; i < JV_MAX_DEPTH + 1; i++)
                buf[n++] = '[';
        for (int i = 0; i < JV_MAX_DEPTH + 1; i++)
                buf[n++] = ']';
        error_n(buf, n, 1, 65, "nesting deeper than 64", "65 nested arrays refused at the 65th bracket");

        _cleanup_free_ char *objs = NULL;
        size_t len = 0, cap = 2048;
        objs = malloc(cap);
        for (int i = 0; i < JV_MAX_DEPTH; i++)
                len += (size_t)snprintf(objs + len, cap - len, "{\"k\":");
        len += (size_t)snprintf(objs + len, cap - len, "1");
        for (int i = 0; i < JV_MAX_DEPTH; i++)
                objs[len++] = '}';
        _cleanup_jv_free_ struct jv *o = jv_parse(objs, len, NULL);
        const struct jv *p = o;
        int depth = 0;
        while (p && p->type == JV_OBJECT) {
                p = jv_get(p, "k");
                depth++;
        }
        tap_ok(o && depth == 64 && p && p->num.i == 1, "64 nested objects accepted");

        memmove(objs + 1, objs, len);
        objs[0] = '[';
        error_n(objs, len + 1, 1, 317, "nesting deeper than 64", "65 levels of objects and arrays refused");

        /* Deep input far past the limit stops at the limit. */
        _cleanup_free_ char *deep = malloc(1000000);
        memset(deep, '[', 1000000);
        error_n(deep, 1000000, 1, 65, "nesting deeper than 64", "a million brackets");
}

static void test_large(void)
{
        enum { N = 100000 };
        _cleanup_free_ char *text = malloc(N * 24 + 16);
        size_t len = 0;
        text[len++] = '[';
        for (int i = 0; i < N; i++)
                len += (size_t)sprintf(text + len, "%s%d", i ? "," : "", i);
        text[len++] = ']';
        double t0 = now();
        _cleanup_jv_free_ struct jv *a = jv_parse(text, len, NULL);
        double dt = now() - t0;
        tap_ok(a && a->arr.n == N && a->arr.items[N - 1]->num.i == N - 1, "100k-element array");
        tap_ok(dt < 2.0, "100k-element array in %.3fs", dt);

        len = 0;
        text[len++] = '{';
        for (int i = 0; i < N; i++)
                len += (size_t)sprintf(text + len, "%s\"key%d\":%d", i ? "," : "", i, i);
        text[len++] = '}';
        t0 = now();
        _cleanup_jv_free_ struct jv *o = jv_parse(text, len, NULL);
        dt = now() - t0;
        const struct jv *last = jv_get(o, "key99999");
        tap_ok(o && o->obj.n == N && last && last->num.i == N - 1, "100k-key object");
        tap_ok(dt < 2.0, "100k-key object in %.3fs", dt);

        /* The same object with the first key repeated at the end. */
        len--;
        len += (size_t)sprintf(text + len, ",\"key0\":0}");
        t0 = now();
        error_n(text, len, 1, (unsigned)len - 8, "duplicate key \"key0\"", "duplicate among 100k keys");
        dt = now() - t0;
        tap_ok(dt < 2.0, "duplicate among 100k keys found in %.3fs", dt);

        /* Equal keys everywhere: a duplicate check that compares each key
         * with all the others would take minutes. */
        len = 0;
        text[len++] = '{';
        for (int i = 0; i < N; i++)
                len += (size_t)sprintf(text + len, "%s\"%d\":0", i ? "," : "", i % 2 ? i : 7);
        text[len++] = '}';
        error_n(text, len, 1, 14, "duplicate key \"7\"", "many duplicates: the first second occurrence");

        /* Long strings and numbers. */
        size_t big = 1 << 20;
        _cleanup_free_ char *s = malloc(big + 3);
        s[0] = '"';
        memset(s + 1, 'x', big);
        s[big + 1] = '"';
        _cleanup_jv_free_ struct jv *str = jv_parse(s, big + 2, NULL);
        tap_ok(str && str->str.len == big, "1 MiB string");
        memset(s, '7', big);
        t0 = now();
        _cleanup_jv_free_ struct jv *num = jv_parse(s, big, NULL);
        dt = now() - t0;
        tap_ok(!num, "a million-digit number is out of range (%.3fs)", dt);
        s[0] = '0';
        s[1] = '.';
        _cleanup_jv_free_ struct jv *frac = jv_parse(s, big, NULL);
        tap_ok(frac && frac->num.d > 0.77 && frac->num.d < 0.78 && !frac->num.is_int, "a million-digit fraction");
}

static char tmpdir[64];

static void test_read_file(void)
{
        snprintf(tmpdir, sizeof tmpdir, "/tmp/test-json_read.XXXXXX");
        if (!mkdtemp(tmpdir)) {
                tap_skip("mkdtemp failed");
                return;
        }
        int dfd = open(tmpdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        const char doc[] = "{\"tool\": \"eslint\", \"network\": false}\n";
        int fd = openat(dfd, "p.json", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        tap_ok(fd >= 0 && write(fd, doc, sizeof doc - 1) == (ssize_t)(sizeof doc - 1) && close(fd) == 0, "wrote a profile");

        char *text = NULL;
        size_t len = 0;
        int r = jv_read_file(dfd, "p.json", 4096, &text, &len);
        tap_ok(r == 0 && len == sizeof doc - 1 && text && memcmp(text, doc, sizeof doc) == 0,
               "regular file read whole and NUL-terminated");
        _cleanup_jv_free_ struct jv *v = r == 0 ? parse(text) : NULL;
        tap_ok(v && jv_get(v, "tool") && strcmp(jv_get(v, "tool")->str.s, "eslint") == 0, "and parsed");
        free(text);
        text = NULL;

        r = jv_read_file(dfd, "p.json", sizeof doc - 1, &text, &len);
        tap_ok(r == 0 && len == sizeof doc - 1, "a file of exactly max_bytes is accepted");
        free(text);
        text = NULL;
        tap_is_int(jv_read_file(dfd, "p.json", sizeof doc - 2, &text, &len), -EFBIG, "one byte over max_bytes: -EFBIG");
        tap_ok(!text, "nothing returned on error");

        fd = openat(dfd, "empty.json", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        close(fd);
        r = jv_read_file(dfd, "empty.json", 10, &text, &len);
        tap_ok(r == 0 && len == 0 && text && text[0] == '\0', "empty file");
        free(text);
        text = NULL;

        tap_ok(mkdirat(dfd, "dir", 0700) == 0, "made a directory");
        tap_is_int(jv_read_file(dfd, "dir", 4096, &text, &len), -EINVAL, "a directory: -EINVAL");

        tap_ok(mkfifoat(dfd, "fifo", 0600) == 0, "made a FIFO");
        alarm(20); /* a FIFO opened without O_NONBLOCK would wait for a writer */
        tap_is_int(jv_read_file(dfd, "fifo", 4096, &text, &len), -EINVAL, "a FIFO: -EINVAL, without blocking");
        alarm(0);

        tap_is_int(jv_read_file(dfd, "missing.json", 4096, &text, &len), -ENOENT, "a missing file: -ENOENT");

        char abs[128];
        snprintf(abs, sizeof abs, "%s/p.json", tmpdir);
        r = jv_read_file(AT_FDCWD, abs, 4096, &text, NULL);
        tap_ok(r == 0 && text && strlen(text) == sizeof doc - 1, "absolute path with AT_FDCWD, no length wanted");
        free(text);
        text = NULL;

        /* /proc files are regular and say st_size 0: the read loop must
         * still stop at max_bytes. */
        struct stat st;
        if (stat("/proc/self/status", &st) == 0 && S_ISREG(st.st_mode) && st.st_size == 0) {
                tap_is_int(jv_read_file(AT_FDCWD, "/proc/self/status", 16, &text, &len), -EFBIG,
                           "a file that grows past its st_size: -EFBIG");
                r = jv_read_file(AT_FDCWD, "/proc/self/status", 1 << 20, &text, &len);
                tap_ok(r == 0 && len > 16 && strlen(text) == len, "and read whole with room");
                free(text);
                text = NULL;
        } else
                tap_skip("no /proc/self/status");

        unlinkat(dfd, "p.json", 0);
        unlinkat(dfd, "empty.json", 0);
        unlinkat(dfd, "fifo", 0);
        unlinkat(dfd, "dir", AT_REMOVEDIR);
        close(dfd);
        rmdir(tmpdir);
}

int main(void)
{
        test_scalars();
        test_strings();
        test_containers();
        test_positions();
        test_bom();
        test_errors();
        test_depth();
        test_large();
        test_read_file();
        return tap_done();
}
