/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdlib.h>

#include "tap.h"
#include "util/strv.h"

int main(void)
{
        char **v = NULL;
        tap_ok(strv_push(&v, "a") == 0 && strv_push(&v, "b") == 0, "push");
        tap_is_int(strv_length(v), 2, "length");
        strv_free(v);
        v = NULL;

        char **env = NULL;
        strv_env_set(&env, "A", "1");
        strv_env_set(&env, "B", "2");
        strv_env_set(&env, "A", "3");
        tap_is_int(strv_length(env), 2, "env_set replaces");
        tap_is_str(env[0], "A=3", "replaced value");
        tap_is_int(strv_env_find(env, "B", 1), 1, "env_find");
        tap_is_int(strv_env_find(env, "AB", 2), -1, "env_find needs the exact name");
        strv_free(env);

        unsigned long long x;
        tap_ok(parse_u64("42", 100, &x) == 0 && x == 42, "parse_u64");
        tap_is_int(parse_u64("101", 100, &x), -ERANGE, "parse_u64 max");
        tap_is_int(parse_u64("-1", 100, &x), -EINVAL, "parse_u64 sign");
        tap_is_int(parse_u64("1 ", 100, &x), -EINVAL, "parse_u64 trailing");
        tap_is_int(parse_u64("", 100, &x), -EINVAL, "parse_u64 empty");
        tap_is_int(parse_u64("99999999999999999999999", ~0ull, &x), -ERANGE, "parse_u64 overflow");

        tap_is_int(str_edit_distance("network", "netwrok"), 2, "edit distance");
        const char *c[] = { "--memory", "--net", "--nofile" };
        tap_is_str(str_suggest("--memroy", c, 3), "--memory", "suggest");
        tap_ok(str_suggest("--zzzzzzzz", c, 3) == NULL, "no suggestion when far");
        return tap_done();
}
