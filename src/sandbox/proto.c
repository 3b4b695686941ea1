/* SPDX-License-Identifier: MIT */
#include "sandbox/proto.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include "util/macro.h"

int msg_send(int sock, const struct msg *m, int pass_fd)
{
        struct iovec iov = { .iov_base = (void *)m, .iov_len = sizeof *m };
        union {
                char buf[CMSG_SPACE(sizeof(int))];
                struct cmsghdr align;
        } u;
        struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
        if (pass_fd >= 0) {
                memset(&u, 0, sizeof u);
                mh.msg_control = u.buf;
                mh.msg_controllen = sizeof u.buf;
                struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
                c->cmsg_level = SOL_SOCKET;
                c->cmsg_type = SCM_RIGHTS;
                c->cmsg_len = CMSG_LEN(sizeof(int));
                memcpy(CMSG_DATA(c), &pass_fd, sizeof(int));
        }
        ssize_t n = RETRY_EINTR(sendmsg(sock, &mh, MSG_NOSIGNAL));
        return n < 0 ? negerrno() : 0;
}

int msg_recv(int sock, struct msg *m, int *ret_fd)
{
        struct iovec iov = { .iov_base = m, .iov_len = sizeof *m };
        union {
                char buf[CMSG_SPACE(sizeof(int))];
                struct cmsghdr align;
        } u;
        struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
                             .msg_controllen = sizeof u.buf };
        if (ret_fd)
                *ret_fd = -1;
        memset(m, 0, sizeof *m);
        ssize_t n = RETRY_EINTR(recvmsg(sock, &mh, MSG_CMSG_CLOEXEC));
        if (n < 0)
                return negerrno();
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
                if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
                        int fd;
                        memcpy(&fd, CMSG_DATA(c), sizeof fd);
                        if (ret_fd)
                                *ret_fd = fd;
                        else
                                close(fd);
                }
        m->text[sizeof m->text - 1] = '\0';
        return (int)n;
}
