/* SPDX-License-Identifier: MIT */
#include "sandbox/proto.h"

#include <string.h>
#include <unistd.h>

#include "util/fdpass.h"

int msg_send(int sock, const struct msg *m, int pass_fd)
{
        return fdpass_send(sock, m, sizeof *m, pass_fd);
}

int msg_recv(int sock, struct msg *m, int *ret_fd)
{
        int fd;
        memset(m, 0, sizeof *m);
        ssize_t n = fdpass_recv(sock, m, sizeof *m, &fd, 0);
        if (ret_fd)
                *ret_fd = fd;
        else if (fd >= 0)
                close(fd);
        m->text[sizeof m->text - 1] = '\0';
        return (int)n;
}
