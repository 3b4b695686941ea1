/* SPDX-License-Identifier: MIT */
/* `moat doctor`: what this system gives moat, the protection level `moat run`
 * gets from it, and the exact fix for whatever is missing. The decisions are
 * the ones `moat run` makes when it fails closed; this only reports them. */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "sandbox/cgroup.h"
#include "sandbox/probe.h"
#include "util/json.h"
#include "util/log.h"
#include "util/macro.h"

int cmd_doctor(int argc, char **argv);

/* ---- the human report ---- */

/* POSIX precedence: LC_ALL overrides LC_CTYPE overrides LANG. We do not call
 * setlocale (the rest of moat runs in the C locale), so look at the
 * variables the way a terminal user set them. */
static bool want_utf8(void)
{
        static const char *const vars[] = { "LC_ALL", "LC_CTYPE", "LANG" };
        for (size_t i = 0; i < ARRAY_SIZE(vars); i++) {
                const char *v = getenv(vars[i]);
                if (v && *v)
                        return strcasestr(v, "utf-8") || strcasestr(v, "utf8");
        }
        return false;
}

enum mark { MARK_OK, MARK_NO, MARK_SKIP, MARK_MAX };

struct out {
        bool utf8;
};

static const char *mark_str(const struct out *o, enum mark m)
{
        static const char *const utf8[MARK_MAX] = { "✓", "✗", "–" };
        static const char *const ascii[MARK_MAX] = { "ok", "NO", "--" };
        return (o->utf8 ? utf8 : ascii)[m];
}

/* Continuation lines start under the value column: two spaces, the
 * marker (one column as a symbol, two in ASCII), a space, the 23-column
 * label and a space. */
static int indent_of(const struct out *o)
{
        return 2 + (o->utf8 ? 1 : 2) + 1 + 23 + 1;
}

/* Prints one line of text that may carry bytes from outside (cgroup paths,
 * the environment), so nothing can paint the terminal. Backslashes stay as
 * they are: the fixes we print are shell commands meant to be pasted. */
static void put_safe_line(const char *s, size_t n)
{
        static const char hex[] = "0123456789abcdef";
        for (size_t i = 0; i < n; i++) {
                unsigned char c = (unsigned char)s[i];
                if (c < 0x20 || c >= 0x7f) {
                        putchar('\\');
                        putchar('x');
                        putchar(hex[c >> 4]);
                        putchar(hex[c & 15]);
                } else
                        putchar(c);
        }
}

/* Multi-line text (reasons are "why\nfix"), each line at the continuation
 * indent. */
static void put_block(const struct out *o, const char *text)
{
        while (text && *text) {
                const char *nl = strchr(text, '\n');
                size_t n = nl ? (size_t)(nl - text) : strlen(text);
                printf("%*s", indent_of(o), "");
                put_safe_line(text, n);
                putchar('\n');
                text = nl ? nl + 1 : text + n;
        }
}

static void put_fact(const struct out *o, enum mark m, const char *label, const char *value)
{
        if (value && *value) {
                printf("  %s %-23s ", mark_str(o, m), label);
                put_safe_line(value, strlen(value));
                putchar('\n');
        } else
                printf("  %s %s\n", mark_str(o, m), label);
}

static void report_userns(const struct out *o, const struct system_facts *f)
{
        if (f->userns) {
                put_fact(o, MARK_OK, "user namespaces", "available");
                return;
        }
        put_fact(o, MARK_NO, "user namespaces", "not available");
        put_block(o, f->userns_reason);
        put_block(o, "`moat run` refuses unless given --allow-weaker userns; it then runs with\n"
                     "Landlock + seccomp + rlimits only: no mount, network or pid isolation");
}

/* The list of active LSMs, so that the fix for a disabled Landlock can be
 * the exact boot parameter instead of a guess that drops another LSM. */
static void read_lsm_list(char *buf, size_t size)
{
        buf[0] = '\0';
        _cleanup_close_ int fd = open("/sys/kernel/security/lsm", O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return;
        ssize_t n = RETRY_EINTR(read(fd, buf, size - 1));
        if (n <= 0) {
                buf[0] = '\0';
                return;
        }
        buf[n] = '\0';
        buf[strcspn(buf, "\n")] = '\0';
}

static void report_landlock(const struct out *o, const struct system_facts *f)
{
        char value[128];

        if (f->landlock_abi > 0) {
                /* ABI 6 added scoping of abstract unix sockets and signals;
                 * below it those are held back by the namespaces alone. */
                if (f->landlock_abi < 6)
                        snprintf(value, sizeof value, "ABI %d (no IPC scoping before ABI 6)",
                                 f->landlock_abi);
                else
                        snprintf(value, sizeof value, "ABI %d", f->landlock_abi);
                put_fact(o, MARK_OK, "Landlock", value);
                return;
        }

        char why[512];
        if (f->landlock_abi == -EOPNOTSUPP) {
                char lsm[256];
                read_lsm_list(lsm, sizeof lsm);
                put_fact(o, MARK_NO, "Landlock", "built in but not enabled at boot");
                if (lsm[0] && !strstr(lsm, "landlock"))
                        snprintf(why, sizeof why, "fix: boot with lsm=landlock,%s on the kernel command line", lsm);
                else
                        snprintf(why, sizeof why, "fix: add landlock to the lsm= list on the kernel command line");
        } else if (f->landlock_abi == -ENOSYS) {
                put_fact(o, MARK_NO, "Landlock", "not in this kernel");
                snprintf(why, sizeof why, "fix: Linux 5.13 or newer with CONFIG_SECURITY_LANDLOCK=y");
        } else {
                put_fact(o, MARK_NO, "Landlock", "not available");
                snprintf(why, sizeof why, "landlock_create_ruleset: %s", strerror(-f->landlock_abi));
        }
        put_block(o, why);
        put_block(o, "`moat run` refuses unless given --allow-weaker landlock; it then runs with\n"
                     "namespaces + seccomp + rlimits");
}

static void report_seccomp(const struct out *o, const struct system_facts *f)
{
        if (f->seccomp) {
                put_fact(o, MARK_OK, "seccomp", "filter mode");
                return;
        }
        put_fact(o, MARK_NO, "seccomp", "not available");
        put_block(o, "fix: a kernel with CONFIG_SECCOMP_FILTER=y (and no parent filter denying seccomp)\n"
                     "`moat run` refuses without it: there is no weaker mode for seccomp");
}

static void report_apis(const struct out *o, const struct system_facts *f)
{
        if (f->mount_api && f->openat2 && f->pidfd) {
                put_fact(o, MARK_OK, "mount API, openat2, pidfd", NULL);
                return;
        }
        char missing[160] = "missing:";
        if (!f->mount_api)
                strncat(missing, " mount API (Linux 5.12+),", sizeof missing - strlen(missing) - 1);
        if (!f->openat2)
                strncat(missing, " openat2 (Linux 5.6+),", sizeof missing - strlen(missing) - 1);
        if (!f->pidfd)
                strncat(missing, " pidfd (Linux 5.3+),", sizeof missing - strlen(missing) - 1);
        missing[strlen(missing) - 1] = '\0';
        put_fact(o, MARK_SKIP, "mount API, openat2, pidfd", NULL);
        put_block(o, missing);
}

static void report_overlayfs(const struct out *o, const struct system_facts *f)
{
        if (f->overlayfs)
                put_fact(o, MARK_OK, "overlayfs in userns", NULL);
        else if (!f->userns)
                put_fact(o, MARK_SKIP, "overlayfs in userns", "not checked (needs user namespaces)");
        else
                put_fact(o, MARK_SKIP, "overlayfs in userns", "not mountable (Linux 5.11+ allows it)");
}

static void report_cgroup(const struct out *o, const struct system_facts *f)
{
        const struct cgroup_info *c = &f->cgroup;

        if (c->kind == CGROUP_NONE || c->kind >= CGROUP_KIND_MAX) {
                put_fact(o, MARK_SKIP, "cgroup limits", "not usable; rlimits are enforced instead");
                put_block(o, c->reason);
                return;
        }

        char value[128] = "", label[32];
        const char *names[] = { c->memory ? "memory" : NULL, c->pids ? "pids" : NULL, c->cpu ? "cpu" : NULL };
        const char *absent[] = { c->memory ? NULL : "memory", c->pids ? NULL : "pids", c->cpu ? NULL : "cpu" };
        size_t len = 0;
        for (size_t i = 0; i < ARRAY_SIZE(names); i++)
                if (names[i] && len < sizeof value)
                        len += (size_t)snprintf(value + len, sizeof value - len, "%s%s", len ? ", " : "", names[i]);
        bool first = true;
        for (size_t i = 0; i < ARRAY_SIZE(absent); i++)
                if (absent[i] && len < sizeof value) {
                        len += (size_t)snprintf(value + len, sizeof value - len, "%s%s", first ? " (no " : ", ",
                                                absent[i]);
                        first = false;
                }
        if (!first && len < sizeof value)
                snprintf(value + len, sizeof value - len, ")");

        snprintf(label, sizeof label, "%s limits", probe_limits_name(f));
        put_fact(o, MARK_OK, label, value);
        /* Partly usable: the reason says what is missing and how to get it. */
        put_block(o, c->reason);
}

static void report_level(const struct system_facts *f, enum protection_level l)
{
        bool cg = f->cgroup.kind == CGROUP_V2 || f->cgroup.kind == CGROUP_V1;
        char limits[32];
        snprintf(limits, sizeof limits, "%s%s", cg ? probe_limits_name(f) : "", cg ? " + rlimits" : "rlimits");

        switch (l) {
        case PROTECTION_FULL:
                printf("protection level: full (namespaces + Landlock + seccomp + %s)\n", limits);
                break;
        case PROTECTION_NO_LANDLOCK:
                printf("protection level: no-landlock (namespaces + seccomp + %s), "
                       "with --allow-weaker landlock\n", limits);
                break;
        case PROTECTION_LANDLOCK_ONLY:
                printf("protection level: landlock-only (Landlock + seccomp + %s), "
                       "with --allow-weaker userns\n", limits);
                break;
        case PROTECTION_NONE:
        case _PROTECTION_MAX:
                printf("protection level: none available; `moat run` refuses to run here\n");
                break;
        }
}

static void report_text(const struct system_facts *f, enum protection_level l)
{
        struct out o = { .utf8 = want_utf8() };
        char kernel[sizeof f->kernel * 4];

        printf("moat doctor %s kernel %s\n", o.utf8 ? "—" : "-",
               log_escape(f->kernel, kernel, sizeof kernel));
        report_userns(&o, f);
        report_landlock(&o, f);
        report_seccomp(&o, f);
        report_apis(&o, f);
        report_overlayfs(&o, f);
        report_cgroup(&o, f);
        report_level(f, l);
}

/* ---- --json ---- */

static void report_json(const struct system_facts *f)
{
        struct json j = { 0 };
        probe_facts_json(f, NULL, &j);
        const char *t = json_text(&j);
        if (t)
                printf("%s\n", t);
        else
                errno = ENOMEM;
        json_free(&j);
}

static void usage(void)
{
        fputs("Usage: moat doctor [--json]\n"
              "\n"
              "Reports what this kernel and system let moat use, the protection level\n"
              "`moat run` gets here, and the exact fix for whatever is missing.\n"
              "\n"
              "  --json      print one JSON object instead of the report\n"
              "  -h, --help  show this help\n"
              "\n"
              "Exit status: 0 when the full protection level is available, 1 otherwise.\n",
              stdout);
}

int cmd_doctor(int argc, char **argv)
{
        bool json = false;

        for (int i = 1; i < argc; i++) {
                if (strcmp(argv[i], "--json") == 0)
                        json = true;
                else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
                        usage();
                        return fflush(stdout) == 0 ? 0 : 125;
                } else {
                        char esc[256];
                        log_error("doctor: unknown option '%s'; see moat doctor --help",
                                  log_escape(argv[i], esc, sizeof esc));
                        return 125;
                }
        }

        struct system_facts f;
        probe_system(&f);
        enum protection_level l = probe_level(&f);

        if (json)
                report_json(&f);
        else
                report_text(&f, l);

        /* A report cut short by a closed pipe must not look like success. */
        if (fflush(stdout) != 0 || ferror(stdout)) {
                log_error("doctor: writing the report: %s", strerror(errno ? errno : EIO));
                return 125;
        }
        return l == PROTECTION_FULL ? 0 : 1;
}
