// Sockets.
#define _GNU_SOURCE
#include "kinglet_system.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

/// Fills a socket address from a numeric host; returns its length, 0 when `host` is not numeric.
static socklen_t numeric_address(const char *host, uint16_t port, struct sockaddr_storage *storage) {
    memset(storage, 0, sizeof *storage);
    struct sockaddr_in *v4 = (struct sockaddr_in *)storage;
    if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons(port);
        return sizeof *v4;
    }
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)storage;
    if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons(port);
        return sizeof *v6;
    }
    return 0;
}

int kinglet_numeric_address_family(const char *host) {
    struct sockaddr_storage storage;
    if (numeric_address(host, 0, &storage) == 0) return 0;
    return storage.ss_family == AF_INET ? 4 : 6;
}

int kinglet_tcp_connect_start(const char *host, uint16_t port, int *fd_out) {
    *fd_out = -1;
    struct sockaddr_storage address;
    socklen_t length = numeric_address(host, port, &address);
    if (length == 0) return -EINVAL;
    int fd = socket(address.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
    if (fd < 0) return -errno;
    if (connect(fd, (struct sockaddr *)&address, length) == 0) {
        *fd_out = fd;
        return 0;
    }
    int error = errno;
    // An interrupted non-blocking connect carries on in the kernel, like EINPROGRESS;
    // calling connect again would only report EALREADY.
    if (error == EINPROGRESS || error == EINTR) {
        *fd_out = fd;
        return EINPROGRESS;
    }
    close(fd);
    return -error;
}

int kinglet_socket_error(int fd) {
    int error = 0;
    socklen_t length = sizeof error;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) != 0) return -errno;
    return error;
}

ssize_t kinglet_send(int fd, const void *bytes, size_t count) {
    return send(fd, bytes, count, MSG_NOSIGNAL);
}

int kinglet_tcp_listen(const char *host, uint16_t port, int backlog, uint16_t *bound_port) {
    struct sockaddr_storage address;
    socklen_t length = numeric_address(host, port, &address);
    if (length == 0) return -EINVAL;
    int fd = socket(address.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
    if (fd < 0) return -errno;
    int on = 1;
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) != 0
        || bind(fd, (struct sockaddr *)&address, length) != 0
        || listen(fd, backlog) != 0
        || getsockname(fd, (struct sockaddr *)&address, &length) != 0) {
        int error = errno;
        close(fd);
        return -error;
    }
    if (bound_port) {
        *bound_port = ntohs(address.ss_family == AF_INET
            ? ((struct sockaddr_in *)&address)->sin_port
            : ((struct sockaddr_in6 *)&address)->sin6_port);
    }
    return fd;
}
