/* SPDX-License-Identifier: MIT */
/* The filter compiled at build time is the one libseccomp builds now. */
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "sandbox/seccomp.h"
#include "seccomp-bpf.h"
#include "tap.h"

static void same(const struct sock_filter *want, size_t n, bool deny_inet)
{
        int fd = memfd_create("bpf", 0);
        struct seccomp_options o = { .deny_inet = deny_inet };
        tap_ok(fd >= 0 && seccomp_export(&o, fd) == 0, "export (deny_inet=%d)", deny_inet);
        off_t len = lseek(fd, 0, SEEK_END);
        tap_is_int(len, (long long)(n * sizeof *want), "same length (deny_inet=%d)", deny_inet);
        struct sock_filter *got = malloc((size_t)len);
        tap_ok(got && pread(fd, got, (size_t)len, 0) == len && memcmp(got, want, (size_t)len) == 0,
               "same instructions (deny_inet=%d)", deny_inet);
        free(got);
        close(fd);
}

int main(void)
{
        same(seccomp_bpf_default, sizeof seccomp_bpf_default / sizeof *seccomp_bpf_default, false);
        same(seccomp_bpf_deny_inet, sizeof seccomp_bpf_deny_inet / sizeof *seccomp_bpf_deny_inet, true);
        return tap_done();
}
