/* SPDX-License-Identifier: MIT */
/* The parser is a loop over an explicit stack of open containers, so hostile
 * nesting costs a bounded array instead of C stack; duplicate keys are found
 * by sorting when an object closes, so a 100k-key object costs n log n and a
 * crafted set of keys cannot make it quadratic the way it could a hash with a
 * fixed function. */
#include "util/json_read.h"

#include "util/json.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct frame {
        struct jv *v;
        size_t cap; /* allocated items or members */
};

struct parser {
        const unsigned char *p, *end;
        unsigned line, col;
        struct jv_error *err;
        struct frame stack[JV_MAX_DEPTH];
        unsigned depth;
};

static int fail_at(struct parser *ps, unsigned line, unsigned col, int r, const char *fmt, ...) _printf_(5, 6);
static int fail_at(struct parser *ps, unsigned line, unsigned col, int r, const char *fmt, ...)
{
        va_list ap;
        ps->err->line = line;
        ps->err->col = col;
        va_start(ap, fmt);
        vsnprintf(ps->err->msg, sizeof ps->err->msg, fmt, ap);
        va_end(ap);
        return r;
}

#define fail(ps, ...) fail_at((ps), (ps)->line, (ps)->col, -EINVAL, __VA_ARGS__)
#define fail_oom(ps) fail_at((ps), (ps)->line, (ps)->col, -ENOMEM, "out of memory")

static bool is_digit(unsigned char c) { return c >= '0' && c <= '9'; }
static bool is_word(unsigned char c)
{
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c) || c == '_';
}

/* Length of the UTF-8 sequence at p (1 to 4 bytes) and its code point, or 0
 * when it is not well-formed: stray continuation bytes, overlong forms (a
 * second spelling of '"' or '/' would slip past byte-level checks),
 * surrogates, anything above U+10FFFF, and sequences cut by the end. */
static size_t utf8_decode(const unsigned char *p, const unsigned char *end, uint32_t *ret_cp)
{
        size_t avail = (size_t)(end - p);
        unsigned char c = p[0], lo = 0x80, hi = 0xBF;
        size_t n;
        uint32_t cp;

        if (c < 0x80) {
                *ret_cp = c;
                return 1;
        }
        if (c < 0xC2)
                return 0;
        if (c < 0xE0) {
                n = 2;
                cp = c & 0x1F;
        } else if (c < 0xF0) {
                n = 3;
                cp = c & 0x0F;
                if (c == 0xE0)
                        lo = 0xA0;
                else if (c == 0xED)
                        hi = 0x9F;
        } else if (c < 0xF5) {
                n = 4;
                cp = c & 0x07;
                if (c == 0xF0)
                        lo = 0x90;
                else if (c == 0xF4)
                        hi = 0x8F;
        } else
                return 0;
        if (avail < n || p[1] < lo || p[1] > hi)
                return 0;
        cp = (cp << 6) | (p[1] & 0x3F);
        for (size_t i = 2; i < n; i++) {
                if ((p[i] & 0xC0) != 0x80)
                        return 0;
                cp = (cp << 6) | (p[i] & 0x3F);
        }
        *ret_cp = cp;
        return n;
}

static size_t utf8_encode(uint32_t cp, char *out)
{
        if (cp < 0x80) {
                out[0] = (char)cp;
                return 1;
        }
        if (cp < 0x800) {
                out[0] = (char)(0xC0 | (cp >> 6));
                out[1] = (char)(0x80 | (cp & 0x3F));
                return 2;
        }
        if (cp < 0x10000) {
                out[0] = (char)(0xE0 | (cp >> 12));
                out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
                out[2] = (char)(0x80 | (cp & 0x3F));
                return 3;
        }
        out[0] = (char)(0xF0 | (cp >> 18));
        out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[3] = (char)(0x80 | (cp & 0x3F));
        return 4;
}

/* A lone CR counts as a line break too, CR LF as one. */
static void skip_ws(struct parser *ps)
{
        while (ps->p < ps->end) {
                unsigned char c = *ps->p;
                if (c == ' ' || c == '\t')
                        ps->col++;
                else if (c == '\n' || (c == '\r' && (ps->p + 1 == ps->end || ps->p[1] != '\n'))) {
                        ps->line++;
                        ps->col = 1;
                } else if (c != '\r')
                        break;
                ps->p++;
        }
}

static void advance_ascii(struct parser *ps, size_t n)
{
        ps->p += n;
        ps->col += (unsigned)n;
}

/* For a character that does not fit where it stands: bad UTF-8 is named as
 * such, before any grammar complaint. */
static int fail_unexpected(struct parser *ps, const char *expected)
{
        uint32_t cp;
        if (utf8_decode(ps->p, ps->end, &cp) == 0)
                return fail(ps, "invalid UTF-8");
        return fail(ps, "%s", expected);
}

static int fail_eof(struct parser *ps)
{
        if (ps->depth == 0)
                return fail(ps, "unexpected end of input");
        const struct jv *open = ps->stack[ps->depth - 1].v;
        return fail(ps, "unexpected end of input: '%c' at %u:%u is not closed",
                    open->type == JV_OBJECT ? '{' : '[', open->line, open->col);
}

static int hex4(const unsigned char *p, const unsigned char *end, uint32_t *ret)
{
        uint32_t v = 0;
        if (end - p < 4)
                return -1;
        for (int i = 0; i < 4; i++) {
                unsigned char c = p[i];
                v <<= 4;
                if (is_digit(c))
                        v |= c - '0';
                else if (c >= 'a' && c <= 'f')
                        v |= c - 'a' + 10;
                else if (c >= 'A' && c <= 'F')
                        v |= c - 'A' + 10;
                else
                        return -1;
        }
        *ret = v;
        return 0;
}

/* The \u escape at ps->p (the backslash): one code point, or a surrogate
 * pair joined into one. Lone surrogates and U+0000 are refused: the first
 * cannot be written as UTF-8, the second would cut the C string short and
 * let "a\u0000b" pass a check on "a". */
static int parse_u_escape(struct parser *ps, uint32_t *ret_cp, size_t *ret_bytes)
{
        uint32_t cp, lo;
        if (hex4(ps->p + 2, ps->end, &cp) < 0)
                return fail(ps, "invalid \\u escape: expected four hex digits");
        if (cp == 0)
                return fail(ps, "\\u0000 is not allowed in strings");
        if (cp >= 0xDC00 && cp <= 0xDFFF)
                return fail(ps, "lone surrogate \\u%04X in string", cp);
        if (cp < 0xD800 || cp > 0xDBFF) {
                *ret_cp = cp;
                *ret_bytes = 6;
                return 0;
        }
        const unsigned char *q = ps->p + 6;
        if (ps->end - q >= 2 && q[0] == '\\' && q[1] == 'u') {
                if (hex4(q + 2, ps->end, &lo) < 0)
                        return fail_at(ps, ps->line, ps->col + 6, -EINVAL,
                                       "invalid \\u escape: expected four hex digits");
                if (lo >= 0xDC00 && lo <= 0xDFFF) {
                        *ret_cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                        *ret_bytes = 12;
                        return 0;
                }
        }
        return fail(ps, "lone surrogate \\u%04X in string", cp);
}

/* The string whose opening quote is at ps->p, unescaped into a malloc'd
 * NUL-terminated copy. */
static int parse_string(struct parser *ps, char **ret, size_t *ret_len)
{
        unsigned line = ps->line, col = ps->col;
        size_t avail = (size_t)(ps->end - ps->p), raw = 1;

        /* Find the closing quote first: the unescaped text is never longer
         * than the raw text, so that bounds the one allocation. */
        while (raw < avail && ps->p[raw] != '"')
                raw += ps->p[raw] == '\\' ? 2 : 1;
        if (raw > avail)
                raw = avail;

        _cleanup_free_ char *out = malloc(raw);
        if (!out)
                return fail_oom(ps);
        size_t n = 0;
        advance_ascii(ps, 1);
        for (;;) {
                if (ps->p >= ps->end)
                        return fail_at(ps, line, col, -EINVAL, "unterminated string");
                unsigned char c = *ps->p;
                if (c == '"') {
                        advance_ascii(ps, 1);
                        break;
                }
                if (c < 0x20)
                        return fail(ps, "control character in string (write it as an escape)");
                if (c >= 0x80) {
                        uint32_t cp;
                        size_t k = utf8_decode(ps->p, ps->end, &cp);
                        if (k == 0)
                                return fail(ps, "invalid UTF-8");
                        memcpy(out + n, ps->p, k);
                        n += k;
                        ps->p += k;
                        ps->col++;
                        continue;
                }
                if (c != '\\') {
                        out[n++] = (char)c;
                        advance_ascii(ps, 1);
                        continue;
                }
                if (ps->end - ps->p < 2)
                        return fail_at(ps, line, col, -EINVAL, "unterminated string");
                char e = (char)ps->p[1];
                switch (e) {
                case '"': case '\\': case '/': out[n++] = e; break;
                case 'b': out[n++] = '\b'; break;
                case 'f': out[n++] = '\f'; break;
                case 'n': out[n++] = '\n'; break;
                case 'r': out[n++] = '\r'; break;
                case 't': out[n++] = '\t'; break;
                case 'u': {
                        uint32_t cp = 0;
                        size_t k = 0;
                        int r = parse_u_escape(ps, &cp, &k);
                        if (r < 0)
                                return r;
                        n += utf8_encode(cp, out + n);
                        advance_ascii(ps, k);
                        continue;
                }
                default:
                        if (e > 0x20 && e < 0x7f)
                                return fail(ps, "invalid escape '\\%c' in string", e);
                        return fail(ps, "invalid escape in string");
                }
                advance_ascii(ps, 2);
        }
        out[n] = '\0';
        *ret = TAKE_PTR(out);
        *ret_len = n;
        return 0;
}

static int parse_number(struct parser *ps, struct jv *v)
{
        const unsigned char *s = ps->p, *q = s, *end = ps->end;
        bool integer = true;

#define FAIL_AT_Q(msg) fail_at(ps, ps->line, ps->col + (unsigned)(q - s), -EINVAL, msg)
        if (*q == '-')
                q++;
        if (q == end || !is_digit(*q))
                return FAIL_AT_Q("expected a digit after '-'");
        if (*q == '0') {
                if (q + 1 < end && is_digit(q[1]))
                        return FAIL_AT_Q("leading zeros are not allowed in numbers");
                q++;
        } else
                while (q < end && is_digit(*q))
                        q++;
        if (q < end && *q == '.') {
                integer = false;
                q++;
                if (q == end || !is_digit(*q))
                        return FAIL_AT_Q("expected a digit after '.'");
                while (q < end && is_digit(*q))
                        q++;
        }
        if (q < end && (*q == 'e' || *q == 'E')) {
                integer = false;
                q++;
                if (q < end && (*q == '+' || *q == '-'))
                        q++;
                if (q == end || !is_digit(*q))
                        return FAIL_AT_Q("expected a digit in the exponent");
                while (q < end && is_digit(*q))
                        q++;
        }
#undef FAIL_AT_Q

        /* strtod wants a C string and follows LC_NUMERIC; moat never calls
         * setlocale, so that is the C locale's '.'. The copy keeps strtod from
         * reading past the literal the grammar above accepted. */
        size_t n = (size_t)(q - s);
        char small[64];
        _cleanup_free_ char *big = NULL;
        char *buf = small, *endp;
        if (n >= sizeof small) {
                buf = big = malloc(n + 1);
                if (!big)
                        return fail_oom(ps);
        }
        memcpy(buf, s, n);
        buf[n] = '\0';
        double d = strtod(buf, &endp);
        if (endp != buf + n || isinf(d))
                return fail(ps, "number out of range");
        v->num.d = d;
        if (integer) {
                errno = 0;
                long long i = strtoll(buf, &endp, 10);
                if (errno == 0 && endp == buf + n) {
                        v->num.is_int = true;
                        v->num.i = i;
                }
        }
        advance_ascii(ps, n);
        return 0;
}

static int parse_word(struct parser *ps, struct jv *v)
{
        size_t n = 0, avail = (size_t)(ps->end - ps->p);
        while (n < avail && is_word(ps->p[n]))
                n++;
        if (n == 4 && memcmp(ps->p, "null", 4) == 0)
                v->type = JV_NULL;
        else if (n == 4 && memcmp(ps->p, "true", 4) == 0) {
                v->type = JV_BOOL;
                v->b = true;
        } else if (n == 5 && memcmp(ps->p, "false", 5) == 0) {
                v->type = JV_BOOL;
                v->b = false;
        } else
                return fail(ps, "invalid literal \"%.*s\" (expected true, false or null)",
                            n > 32 ? 32 : (int)n, (const char *)ps->p);
        advance_ascii(ps, n);
        return 0;
}

/* Leaves only containers to recursion, so the C stack holds at most one
 * frame per level of nesting, which jv_parse caps at JV_MAX_DEPTH. */
static void free_leaf(struct jv *v)
{
        if (v && v->type == JV_STRING)
                free(v->str.s);
        free(v);
}

static bool is_container(const struct jv *v)
{
        return v && (v->type == JV_ARRAY || v->type == JV_OBJECT);
}

void jv_free(struct jv *v)
{
        if (!is_container(v)) {
                free_leaf(v);
                return;
        }
        if (v->type == JV_ARRAY) {
                for (size_t i = 0; i < v->arr.n; i++)
                        if (is_container(v->arr.items[i]))
                                jv_free(v->arr.items[i]);
                        else
                                free_leaf(v->arr.items[i]);
                free(v->arr.items);
        } else {
                for (size_t i = 0; i < v->obj.n; i++) {
                        struct jv *m = v->obj.members[i].value;
                        free(v->obj.members[i].key);
                        if (is_container(m))
                                jv_free(m);
                        else
                                free_leaf(m);
                }
                free(v->obj.members);
        }
        free(v);
}

/* p reallocated to twice *cap elements of size bytes (at least 4), or NULL
 * with p untouched. */
static void *grow(void *p, size_t *cap, size_t size)
{
        size_t n = *cap ? *cap * 2 : 4;
        if (n < *cap || n > SIZE_MAX / size)
                return NULL;
        void *a = realloc(p, n * size);
        if (a)
                *cap = n;
        return a;
}

/* Hangs v where the parser stands: the root, the next array item, or the
 * value of the member whose key was just read. Everything is attached as
 * soon as it exists, so freeing the root after an error frees it all. */
static int attach(struct parser *ps, struct jv **root, struct jv *v)
{
        if (ps->depth == 0) {
                *root = v;
                return 0;
        }
        struct frame *f = &ps->stack[ps->depth - 1];
        if (f->v->type == JV_OBJECT) {
                f->v->obj.members[f->v->obj.n - 1].value = v;
                return 0;
        }
        if (f->v->arr.n == f->cap) {
                struct jv **items = grow(f->v->arr.items, &f->cap, sizeof *items);
                if (!items)
                        return fail_oom(ps);
                f->v->arr.items = items;
        }
        f->v->arr.items[f->v->arr.n++] = v;
        return 0;
}

/* The value starting at the next non-blank character. A container is only
 * opened (pushed); the main loop reads what it holds. */
static int parse_value(struct parser *ps, struct jv **root)
{
        skip_ws(ps);
        if (ps->p >= ps->end)
                return fail_eof(ps);

        unsigned char c = *ps->p;
        switch (c) {
        case '"': case '-': case '[': case '{':
                break;
        case '\'':
                return fail(ps, "strings must be in double quotes");
        case '/':
                return fail(ps, "comments are not allowed in JSON");
        case '+':
                return fail(ps, "numbers must not start with '+'");
        case '.':
                return fail(ps, "numbers must start with a digit");
        default:
                if (!is_word(c))
                        return fail_unexpected(ps, "expected a JSON value");
        }
        if ((c == '[' || c == '{') && ps->depth >= JV_MAX_DEPTH)
                return fail(ps, "nesting deeper than %d", JV_MAX_DEPTH);

        struct jv *v = calloc(1, sizeof *v);
        if (!v)
                return fail_oom(ps);
        v->line = ps->line;
        v->col = ps->col;
        int r;
        if (c == '[' || c == '{') {
                v->type = c == '[' ? JV_ARRAY : JV_OBJECT;
                advance_ascii(ps, 1);
                r = 0;
        } else if (c == '"') {
                v->type = JV_STRING;
                r = parse_string(ps, &v->str.s, &v->str.len);
        } else if (c == '-' || is_digit(c)) {
                v->type = JV_NUMBER;
                r = parse_number(ps, v);
        } else
                r = parse_word(ps, v);
        if (r >= 0)
                r = attach(ps, root, v);
        if (r < 0) {
                free_leaf(v);
                return r;
        }
        if (is_container(v))
                ps->stack[ps->depth++] = (struct frame) { .v = v };
        return 0;
}

/* An object key at ps->p and the ':' after it; appends the member with no
 * value yet. */
static int parse_key(struct parser *ps)
{
        struct frame *f = &ps->stack[ps->depth - 1];
        struct jv *o = f->v;
        unsigned char c = *ps->p;

        if (c != '"') {
                if (c == '\'')
                        return fail(ps, "strings must be in double quotes");
                if (c == '/')
                        return fail(ps, "comments are not allowed in JSON");
                if (is_word(c))
                        return fail(ps, "object keys must be strings in double quotes");
                return fail_unexpected(ps, "expected a string as object key");
        }
        unsigned line = ps->line, col = ps->col;
        _cleanup_free_ char *key = NULL;
        size_t key_len;
        int r = parse_string(ps, &key, &key_len);
        if (r < 0)
                return r;
        if (o->obj.n == f->cap) {
                struct jv_member *members = grow(o->obj.members, &f->cap, sizeof *members);
                if (!members)
                        return fail_oom(ps);
                o->obj.members = members;
        }
        o->obj.members[o->obj.n++] = (struct jv_member) {
                .key = TAKE_PTR(key), .key_len = key_len, .line = line, .col = col,
        };
        skip_ws(ps);
        if (ps->p >= ps->end)
                return fail_eof(ps);
        if (*ps->p != ':')
                return fail_unexpected(ps, "expected ':' after object key");
        advance_ascii(ps, 1);
        return 0;
}

static int cmp_members(const void *a, const void *b)
{
        const struct jv_member *x = *(const struct jv_member *const *)a;
        const struct jv_member *y = *(const struct jv_member *const *)b;
        int c = memcmp(x->key, y->key, x->key_len < y->key_len ? x->key_len : y->key_len);
        if (c != 0)
                return c;
        if (x->key_len != y->key_len)
                return x->key_len < y->key_len ? -1 : 1;
        /* Equal keys stay in source order (members is one array). */
        return x < y ? -1 : x > y;
}

static bool same_key(const struct jv_member *x, const struct jv_member *y)
{
        return x->key_len == y->key_len && memcmp(x->key, y->key, x->key_len) == 0;
}

/* The key for a message: quotes, backslashes and control characters
 * (C1 too: some terminals act on them) escaped, long keys cut. */
static void quote_key(const struct jv_member *m, char *buf, size_t size)
{
        const unsigned char *p = (const unsigned char *)m->key, *end = p + m->key_len;
        size_t n = 0;
        while (p < end) {
                char tmp[8];
                uint32_t cp;
                size_t k = utf8_decode(p, end, &cp), t;
                if (k == 0) { /* cannot happen: keys were checked */
                        k = 1;
                        cp = 0xFFFD;
                }
                if (cp == '"' || cp == '\\')
                        t = (size_t)snprintf(tmp, sizeof tmp, "\\%c", (char)cp);
                else if (cp < 0x20 || (cp >= 0x7f && cp < 0xa0) || cp == 0xFFFD)
                        t = (size_t)snprintf(tmp, sizeof tmp, "\\u%04X", (unsigned)cp);
                else {
                        memcpy(tmp, p, k);
                        t = k;
                }
                if (n + t + 4 > size || n + t > 64) {
                        memcpy(buf + n, "...", 3);
                        n += 3;
                        break;
                }
                memcpy(buf + n, tmp, t);
                n += t;
                p += k;
        }
        buf[n] = '\0';
}

/* Called when an object closes. Reports the second occurrence that comes
 * first in the source, whatever the object's size. */
static int check_duplicates(struct parser *ps, const struct jv *o)
{
        const struct jv_member *m = o->obj.members, *dup = NULL;
        size_t n = o->obj.n;

        if (n < 2)
                return 0;
        if (n <= 16) {
                for (size_t j = 1; j < n && !dup; j++)
                        for (size_t i = 0; i < j; i++)
                                if (same_key(&m[i], &m[j])) {
                                        dup = &m[j];
                                        break;
                                }
        } else {
                _cleanup_free_ const struct jv_member **sorted = malloc(n * sizeof *sorted);
                if (!sorted)
                        return fail_oom(ps);
                for (size_t i = 0; i < n; i++)
                        sorted[i] = &m[i];
                qsort(sorted, n, sizeof *sorted, cmp_members);
                for (size_t i = 1; i < n; i++)
                        if (same_key(sorted[i - 1], sorted[i]) && (!dup || sorted[i] < dup))
                                dup = sorted[i];
        }
        if (!dup)
                return 0;
        char key[80];
        quote_key(dup, key, sizeof key);
        return fail_at(ps, dup->line, dup->col, -EINVAL, "duplicate key \"%s\"", key);
}

static int parse_document(struct parser *ps, struct jv **root)
{
        for (;;) {
                int r = parse_value(ps, root);
                if (r < 0)
                        return r;

                /* After a value, or just inside a container: close what
                 * ends here, then find where the next value goes. */
                for (;;) {
                        skip_ws(ps);
                        if (ps->depth == 0) {
                                if (ps->p < ps->end)
                                        return fail(ps, "trailing characters after the JSON value");
                                return 0;
                        }
                        if (ps->p >= ps->end)
                                return fail_eof(ps);

                        struct jv *top = ps->stack[ps->depth - 1].v;
                        bool is_obj = top->type == JV_OBJECT;
                        bool empty = (is_obj ? top->obj.n : top->arr.n) == 0;
                        unsigned char close = is_obj ? '}' : ']';
                        if (*ps->p == close) {
                                if (is_obj && (r = check_duplicates(ps, top)) < 0)
                                        return r;
                                advance_ascii(ps, 1);
                                ps->depth--;
                                continue;
                        }
                        if (!empty) {
                                if (*ps->p != ',')
                                        return fail_unexpected(ps, is_obj ? "expected ',' or '}' after object member"
                                                                          : "expected ',' or ']' after array element");
                                advance_ascii(ps, 1);
                                skip_ws(ps);
                                if (ps->p >= ps->end)
                                        return fail_eof(ps);
                                if (*ps->p == close)
                                        return fail(ps, is_obj ? "expected a key after ',' (trailing commas are not allowed)"
                                                               : "expected a value after ',' (trailing commas are not allowed)");
                        }
                        if (is_obj && (r = parse_key(ps)) < 0)
                                return r;
                        break;
                }
        }
}

struct jv *jv_parse(const char *text, size_t len, struct jv_error *err)
{
        struct jv_error ignored;
        struct parser ps = {
                .line = 1,
                .col = 1,
                .err = err ? err : &ignored,
        };
        struct jv *root = NULL;

        if (!text) {
                text = "";
                len = 0;
        }
        ps.p = (const unsigned char *)text;
        ps.end = ps.p + len;
        *ps.err = (struct jv_error) { 0 };

        /* Editors on some systems write a byte order mark; it is not part of
         * the text and takes no column. */
        if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0)
                ps.p += 3;
        skip_ws(&ps);
        if (ps.p == ps.end) {
                fail(&ps, "empty input: expected a JSON value");
                return NULL;
        }
        if (parse_document(&ps, &root) < 0) {
                jv_free(root);
                return NULL;
        }
        return root;
}

const struct jv_member *jv_member_get(const struct jv *obj, const char *key)
{
        if (!obj || obj->type != JV_OBJECT || !key)
                return NULL;
        size_t n = strlen(key);
        for (size_t i = 0; i < obj->obj.n; i++)
                if (obj->obj.members[i].key_len == n && memcmp(obj->obj.members[i].key, key, n) == 0)
                        return &obj->obj.members[i];
        return NULL;
}

const struct jv *jv_get(const struct jv *obj, const char *key)
{
        const struct jv_member *m = jv_member_get(obj, key);
        return m ? m->value : NULL;
}

const char *jv_type_name(enum jv_type t)
{
        switch (t) {
        case JV_NULL: return "null";
        case JV_BOOL: return "boolean";
        case JV_NUMBER: return "number";
        case JV_STRING: return "string";
        case JV_ARRAY: return "array";
        case JV_OBJECT: return "object";
        case _JV_TYPE_MAX: break;
        }
        return "invalid";
}

int jv_read_file(int dirfd, const char *path, size_t max_bytes, char **ret_text, size_t *ret_len)
{
        /* O_NONBLOCK because opening a FIFO for reading waits for a writer:
         * one planted where a profile is expected would hang moat before
         * fstat could refuse it. Regular files ignore the flag. */
        _cleanup_close_ int fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0)
                return negerrno();
        struct stat st;
        if (fstat(fd, &st) < 0)
                return negerrno();
        if (!S_ISREG(st.st_mode))
                return -EINVAL;
        if ((uintmax_t)st.st_size > max_bytes)
                return -EFBIG;

        /* st_size is a hint only: the file may change under us, and files
         * in /proc say 0. Read to EOF, never keeping more than max_bytes. */
        size_t cap = st.st_size > 0 ? (size_t)st.st_size + 2 : 4096, len = 0;
        _cleanup_free_ char *buf = malloc(cap);
        if (!buf)
                return -ENOMEM;
        for (;;) {
                if (len + 1 == cap) {
                        char *b = grow(buf, &cap, 1);
                        if (!b)
                                return -ENOMEM;
                        buf = b;
                }
                size_t want = cap - 1 - len;
                if (max_bytes - len < want)
                        want = max_bytes - len + 1; /* one more shows that it is too big */
                ssize_t k = RETRY_EINTR(read(fd, buf + len, want));
                if (k < 0)
                        return negerrno();
                if (k == 0)
                        break;
                len += (size_t)k;
                if (len > max_bytes)
                        return -EFBIG;
        }
        buf[len] = '\0';
        *ret_text = TAKE_PTR(buf);
        if (ret_len)
                *ret_len = len;
        return 0;
}

void jv_write(struct json *j, const char *key, const struct jv *v)
{
        switch (v->type) {
        case JV_NULL:
                json_null(j, key);
                break;
        case JV_BOOL:
                json_bool(j, key, v->b);
                break;
        case JV_NUMBER:
                if (v->num.is_int)
                        json_int(j, key, v->num.i);
                else
                        json_double(j, key, v->num.d);
                break;
        case JV_STRING:
                json_strn(j, key, v->str.s, v->str.len);
                break;
        case JV_ARRAY:
                json_begin_array(j, key);
                for (size_t i = 0; i < v->arr.n; i++)
                        jv_write(j, NULL, v->arr.items[i]);
                json_end_array(j);
                break;
        case JV_OBJECT:
                if (key)
                        json_key_object(j, key);
                else
                        json_begin_object(j);
                for (size_t i = 0; i < v->obj.n; i++)
                        jv_write(j, v->obj.members[i].key, v->obj.members[i].value);
                json_end_object(j);
                break;
        case _JV_TYPE_MAX:
                break;
        }
}
