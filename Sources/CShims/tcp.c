#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "CShims.h"

/* One address of host:port after the other until one accepts within timeout_ms each. The
   socket is returned blocking, with send and receive timeouts of io_timeout_ms so that a
   receiver that stops reading cannot hold the caller in send(2) for ever, and TCP keepalive. */
int bedside_tcp_connect(const char *host, int port, int timeout_ms, int io_timeout_ms) {
    struct addrinfo hints;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    char service[16];
    snprintf(service, sizeof service, "%d", port);
    struct addrinfo *found = NULL;
    int resolved = getaddrinfo(host, service, &hints, &found);
    if (resolved != 0) return resolved == EAI_SYSTEM ? -errno : -BEDSIDE_TCP_UNRESOLVED;
    int result = -ECONNREFUSED;
    for (struct addrinfo *address = found; address != NULL; address = address->ai_next) {
        int fd = socket(address->ai_family, address->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, address->ai_protocol);
        if (fd < 0) { result = -errno; continue; }
        int status = connect(fd, address->ai_addr, address->ai_addrlen);
        if (status < 0 && errno == EINPROGRESS) {
            struct pollfd entry = { .fd = fd, .events = POLLOUT, .revents = 0 };
            int ready = poll(&entry, 1, timeout_ms);
            if (ready == 1) {
                int error = 0;
                socklen_t length = sizeof error;
                getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length);
                status = error == 0 ? 0 : -1;
                errno = error;
            } else {
                status = -1;
                errno = ready == 0 ? ETIMEDOUT : errno;
            }
        }
        if (status == 0) {
            int flags = fcntl(fd, F_GETFL);
            fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
            struct timeval limit = { .tv_sec = io_timeout_ms / 1000, .tv_usec = (io_timeout_ms % 1000) * 1000 };
            setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &limit, sizeof limit);
            int on = 1;
            setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
            /* An idle connection whose peer vanished without a FIN (power cut, cable pulled)
               fails within about three io timeouts, instead of the kernel's two hours. */
            int idle_s = io_timeout_ms / 1000 > 0 ? io_timeout_ms / 1000 : 1;
            int interval_s = idle_s / 3 > 0 ? idle_s / 3 : 1;
            int probes = 3;
            setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof on);
            setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle_s, sizeof idle_s);
            setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &interval_s, sizeof interval_s);
            setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &probes, sizeof probes);
            freeaddrinfo(found);
            return fd;
        }
        result = -errno;
        close(fd);
    }
    freeaddrinfo(found);
    return result;
}

/* Writes all of buffer or fails: -errno (EPIPE instead of SIGPIPE when the peer is gone). */
int bedside_send_all(int fd, const unsigned char *buffer, int length) {
    int written = 0;
    while (written < length) {
        ssize_t count = send(fd, buffer + written, (size_t)(length - written), MSG_NOSIGNAL);
        if (count < 0) {
            if (errno == EINTR) continue;
            return -errno;
        }
        written += (int)count;
    }
    return written;
}
