/* SPDX-License-Identifier: MIT */
#include "tap.h"
#include "util/json.h"

int main(void)
{
        struct json j = { 0 };
        json_begin_object(&j);
        json_str(&j, "s", "a\"b\\c\n\x1b[31m");
        json_int(&j, "i", -3);
        json_bool(&j, "b", true);
        json_null(&j, "n");
        json_begin_array(&j, "a");
        json_str(&j, NULL, "x");
        json_uint(&j, NULL, 7);
        json_end_array(&j);
        json_key_object(&j, "o");
        json_end_object(&j);
        json_end_object(&j);
        tap_is_str(json_text(&j),
                   "{\"s\":\"a\\\"b\\\\c\\u000a\\u001b[31m\",\"i\":-3,\"b\":true,\"n\":null,\"a\":[\"x\",7],\"o\":{}}",
                   "object with escapes");
        json_free(&j);
        return tap_done();
}
