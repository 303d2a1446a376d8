// Declarations for sockets: probes, the status socket, the link.
//
// Addresses are numeric only (IPv4 dotted quads, IPv6 literals without a zone): name
// resolution blocks, and nothing may block the agent's one loop.
#ifndef KINGLET_NET_H
#define KINGLET_NET_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/// The address family of a numeric host: 4 for IPv4, 6 for IPv6, 0 when `host` is not a
/// numeric address (a DNS name, a bracketed or zoned IPv6 literal, garbage).
int kinglet_numeric_address_family(const char *host);

/// Starts a TCP connect to a numeric address on a new non-blocking, close-on-exec socket.
/// Returns 0 when the connect completed at once, EINPROGRESS when it is under way (watch the
/// socket for writable, then read kinglet_socket_error), or -errno when it failed; -EINVAL
/// when `host` is not a numeric address. On 0 and EINPROGRESS `*fd_out` is the socket, which
/// the caller closes; on failure it is -1 and nothing is left open.
int kinglet_tcp_connect_start(const char *host, uint16_t port, int *fd_out);

/// The socket's pending error (getsockopt SO_ERROR), which also clears it: 0 when none (a
/// started connect succeeded), an errno value otherwise, -errno when getsockopt failed.
int kinglet_socket_error(int fd);

/// send(2) with MSG_NOSIGNAL: a peer that closed early makes it fail with EPIPE instead of
/// raising SIGPIPE. Returns the bytes sent or -1 with errno.
ssize_t kinglet_send(int fd, const void *bytes, size_t count);

/// A non-blocking, close-on-exec TCP socket listening on a numeric address (SO_REUSEADDR),
/// port 0 for any free port. Returns the socket, or -errno (-EINVAL for a non-numeric host);
/// `*bound_port` receives the port actually bound when not NULL.
int kinglet_tcp_listen(const char *host, uint16_t port, int backlog, uint16_t *bound_port);

#endif
