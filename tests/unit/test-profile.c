/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "profile/apply.h"
#include "profile/profile.h"
#include "tap.h"
#include "util/json_read.h"
#include "util/strv.h"

static int parse(const char *text, struct profile *p, struct moat_error *e)
{
        memset(e, 0, sizeof *e);
        return profile_parse("tool", "tools/tool.json", text, strlen(text), p, e);
}

static void bad(const char *text, const char *want, const char *what)
{
        struct profile p;
        struct moat_error e;
        int r = parse(text, &p, &e);
        tap_ok(r == -EINVAL && strstr(e.msg, want) != NULL, "%s", what);
        if (r != -EINVAL || !strstr(e.msg, want))
                printf("#   got %d \"%s\", want \"%s\"\n", r, e.msg, want);
        if (r == 0)
                profile_free(&p);
}

int main(void)
{
        struct profile p;
        struct moat_error e;

        /* coco's eslint example, unchanged. */
        const char *eslint = "{\n"
                             "  \"tool\": \"npm:eslint\",\n"
                             "  \"command\": \"eslint\",\n"
                             "  \"mounts\": [ { \"src\": \".\", \"dst\": \"/workspace\" } ],\n"
                             "  \"env_passthrough\": [ \"TERM\", \"NODE_ENV\" ],\n"
                             "  \"env\": { \"NPM_CONFIG_PREFIX\": \"/root/.npm-global\" },\n"
                             "  \"workdir\": \"/workspace\",\n"
                             "  \"network\": \"none\"\n"
                             "}\n";
        tap_ok(parse(eslint, &p, &e) == 0, "coco's eslint profile parses: %s", e.msg);
        tap_is_str(p.tool, "npm:eslint", "tool");
        tap_is_str(p.command, "eslint", "command");
        tap_ok(p.n_mounts == 1 && strcmp(p.mounts[0].src, ".") == 0 && !p.mounts[0].ro, "mount of . read-write");
        tap_ok(p.net == PROFILE_NET_NONE, "network none");
        tap_is_str(p.env ? p.env[0] : NULL, "NPM_CONFIG_PREFIX=/root/.npm-global", "env");

        struct run_options o;
        struct apply_env env = { .cwd = "/home/a/proj", .home = "/home/a" };
        tap_ok(profile_to_options(&p, &env, &o, &e) == 0, "becomes run options: %s", e.msg);
        tap_ok(!o.no_cwd && !o.cwd_ro, "the project is mounted, read-write");
        tap_is_str(o.workdir, "/home/a/proj", "workdir /workspace follows the project");
        tap_ok(o.net == NET_NONE, "no network");
        run_options_free(&o);
        profile_free(&p);

        tap_ok(parse("{\"mounts\": [{\"src\": \".\", \"dst\": \"/w\", \"opts\": \"ro,z\"}], \"workdir\": \"/w/sub\"}",
                     &p, &e) == 0, "ro,z accepted");
        tap_ok(profile_to_options(&p, &env, &o, &e) == 0 && o.cwd_ro, "a read-only project");
        tap_is_str(o.workdir, "/home/a/proj/sub", "a workdir below the project's mount point");
        run_options_free(&o);
        profile_free(&p);

        tap_ok(parse("{\"allowed_hosts\": [\"example.com\", \"*.example.org:8443\"], \"ports\": [3000, \"8080:80/tcp\"], "
                     "\"limits\": {\"memory\": 512, \"timeout\": 30}, \"tty\": false, \"git_write\": true, "
                     "\"pre-cmd\": \"ignored\"}", &p, &e) == 0, "moat's keys and coco's stale pre-cmd: %s", e.msg);
        tap_ok(profile_to_options(&p, &env, &o, &e) == 0, "to options");
        tap_ok(o.net == NET_PROXY && strv_length(o.allow) == 2, "allowed_hosts: the proxy");
        tap_is_str(o.publish ? o.publish[0] : NULL, "3000:3000", "a bare port publishes itself");
        tap_is_str(o.publish ? o.publish[1] : NULL, "8080:80", "podman's /tcp suffix");
        tap_ok(o.limits.memory_mib == 512 && o.limits.timeout_s == 30 && (o.limits_set & LIMIT_MEMORY), "limits");
        tap_ok(o.tty == TTY_NEVER && o.git_write && o.no_cwd, "tty, git_write; no \".\" mount: no project");

        /* The command line wins: scalars replace, lists add. */
        struct run_options cli;
        char *args[] = { "--memory", "64", "--net", "none", "--env", "A=1", "tool" };
        tap_ok(run_args_parse("run", 7, args, &cli, &e) == 0, "cli parses");
        tap_ok(run_options_overlay(&o, &cli) == 0, "overlay");
        tap_ok(o.limits.memory_mib == 64 && o.limits.timeout_s == 30, "--memory replaces, timeout stays");
        tap_ok(o.net == NET_NONE && !o.allow, "--net none drops the profile's hosts");
        tap_is_str(o.env_set ? o.env_set[strv_length(o.env_set) - 1] : NULL, "A=1", "--env adds");
        run_options_free(&cli);
        run_options_free(&o);
        profile_free(&p);

        tap_ok(parse("{\"mounts\": [{\"src\": \"~/.config/x\", \"dst\": \"/root/.config/x\", \"opts\": \"ro\"}]}", &p,
                     &e) == 0, "a home mount");
        struct apply_env env2 = { .cwd = "/tmp", .home = "/" };
        int r = profile_to_options(&p, &env2, &o, &e);
        tap_ok(r < 0 && strstr(e.msg, "tools/tool.json:1:13: mount source /.config/x") && strstr(e.msg, "does not create"),
               "a missing mount source is an error at its position: %s", e.msg);
        run_options_free(&o);
        profile_free(&p);

        /* Errors: FILE:LINE:COL, one line, what to do. */
        bad("{\n  \"netwrok\": \"none\"\n}", "tools/tool.json:2:3: \"netwrok\": unknown key (did you mean \"network\"?)",
            "unknown key with a suggestion");
        bad("{\"zzzzzz\": 1}", "unknown key", "unknown key without a suggestion");
        bad("{\"tool\": 5}", "tools/tool.json:1:10: \"tool\": expected a string, found number", "wrong type");
        bad("{\"network\": \"bridged\"}", "unknown mode \"bridged\"", "bad network mode");
        bad("{\"mounts\": [{\"dst\": \"/x\"}]}", "\"src\" is missing", "mount without src");
        bad("{\"mounts\": [{\"src\": \"a\", \"dest\": \"/x\"}]}", "did you mean \"dst\"", "mount key typo");
        bad("{\"mounts\": [{\"src\": \"a\", \"dst\": \"x\"}]}", "must be an absolute path", "relative dst");
        bad("{\"mounts\": [{\"src\": \"a\", \"opts\": \"rw,exec\"}]}", "unknown option \"exec\"", "unknown mount option");
        bad("{\"env\": {\"1BAD\": \"x\"}}", "not a valid variable name", "bad env name");
        bad("{\"env\": {\"A\": [1]}}", "expected a string, found array", "env value type");
        bad("{\"allowed_hosts\": [\"exa mple.com\"]}", "allowed_hosts", "a host rule that is not a host");
        bad("{\"allowed_hosts\": [\"a.com\"], \"network\": \"none\"}", "conflicts with \"network\": \"none\"",
            "allowed_hosts with network none");
        bad("{\"limits\": {\"memroy\": 1}}", "did you mean \"memory\"", "limit typo");
        bad("{\"limits\": {\"memory\": -1}}", "expected a whole number", "negative limit");
        bad("{\"limits\": {\"memory\": 1.5}}", "expected a whole number", "fractional limit");
        bad("{\"ports\": [\"53:53/udp\"]}", "only TCP", "udp port");
        bad("{\"tool\": \"a\\u0001b\"}", "control characters", "control characters in a string");
        bad("{\"tool\": \"npm:x\",}", "tools/tool.json:1:18: expected a key after ','", "trailing comma: the JSON reader's position");
        bad("[1]", "a profile is a JSON object, found array", "not an object");
        bad("{\"tty\": \"sometimes\"}", "expected auto, always or never", "bad tty");
        bad("{\"tool\": \"a\", \"tool\": \"b\"}", "duplicate key", "duplicate key");

        tap_ok(!profile_name_valid("a/b") && !profile_name_valid("..") && !profile_name_valid(".x") &&
               !profile_name_valid("-x") && !profile_name_valid(""), "hostile tool names are refused");
        tap_ok(profile_name_valid("golangci-lint") && profile_name_valid("python3.12") && profile_name_valid("g++"),
               "real tool names are accepted");
        memset(&e, 0, sizeof e);
        tap_ok(profile_parse("../x", "f", "{}", 2, &p, &e) == -EINVAL, "a profile named with a slash is refused");

        /* coco's config.d layering: objects merge, the rest is replaced. */
        const char *ta = "{\"tool\":\"npm:a\",\"env\":{\"X\":\"1\",\"Y\":\"1\"},\"network\":\"none\"}";
        const char *tb = "{\"tool\":\"npm:b\",\"env\":{\"Y\":\"2\"}}";
        struct jv *a = jv_parse(ta, strlen(ta), NULL), *b = jv_parse(tb, strlen(tb), NULL);
        memset(&e, 0, sizeof e);
        const struct jv *layers[] = { a, b };
        const char *files[] = { "config.json", "config.d/10.json" };
        tap_ok(a && b && profile_from_layers("t", layers, files, 2, &p, &e) == 0, "layers merge: %s", e.msg);
        tap_is_str(p.tool, "npm:b", "a later file replaces a scalar");
        tap_ok(p.net == PROFILE_NET_NONE, "and keeps what it does not set");
        tap_ok(strv_length(p.env) == 3 && strcmp(p.env[2], "Y=2") == 0, "env merges, the later value last");
        tap_is_str(p.origin, "config.d/10.json", "origin is the last layer");
        profile_free(&p);
        jv_free(a);
        jv_free(b);
        /* Xauthority: the display's cookies, with the wildcard family. */
        static const uint8_t xa[] = {
                0x01, 0x00, 0, 4, 'h', 'o', 's', 't', 0, 1, '0', 0, 3, 'M', 'I', 'T', 0, 2, 0xaa, 0xbb,
                0x01, 0x00, 0, 4, 'h', 'o', 's', 't', 0, 2, '7', '7', 0, 3, 'M', 'I', 'T', 0, 2, 0xcc, 0xdd,
        };
        uint8_t out[64];
        ssize_t m = xauth_for_display(xa, sizeof xa, "77", out, sizeof out);
        tap_ok(m == 21 && out[0] == 0xff && out[1] == 0xff && out[19] == 0xcc && out[20] == 0xdd,
               "xauth: only display 77's cookie, family wildcard");
        tap_ok(xauth_for_display(xa, sizeof xa - 1, "77", out, sizeof out) == -EINVAL, "xauth: truncated is malformed");
        tap_ok(xauth_for_display(xa, sizeof xa, "5", out, sizeof out) == 0, "xauth: no cookie for another display");
        return tap_done();
}
