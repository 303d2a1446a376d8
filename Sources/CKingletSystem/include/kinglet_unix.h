// Declarations for unix-domain sockets: the agent's local status socket.
#ifndef KINGLET_UNIX_H
#define KINGLET_UNIX_H

#include <stdint.h>

/// A non-blocking, close-on-exec listening socket at `path` (a stale socket file is
/// replaced), with permission bits `mode`. Returns the fd or -1 with errno (ENAMETOOLONG
/// when the path does not fit sockaddr_un).
int kinglet_unix_listen(const char *path, unsigned int mode);
/// accept4 with SOCK_NONBLOCK | SOCK_CLOEXEC. Returns the fd, or -1 with errno (EAGAIN).
int kinglet_unix_accept(int listener);
/// A blocking connection to `path`, with send and receive timeouts of `timeout_ms`.
/// Returns the fd or -1 with errno.
int kinglet_unix_connect(const char *path, int timeout_ms);
/// The same two for another socket type (SOCK_SEQPACKET for the container keeper).
int kinglet_unix_listen_typed(const char *path, unsigned int mode, int type);
int kinglet_unix_connect_typed(const char *path, int timeout_ms, int type);

#endif
