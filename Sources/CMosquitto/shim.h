// CMosquitto: libmosquitto, the MQTT client library the agent drives from its own loop.
#include <mosquitto.h>
#include <fcntl.h>

/// Marks the client's socket close-on-exec. libmosquitto opens it without the flag, and a
/// container spawned while it is open would keep the broker connection alive after the
/// agent closed it (no will, and epoll would keep reporting a descriptor we closed).
/// Returns 0, or -1 when there is no socket or fcntl failed.
static inline int kinglet_mosquitto_socket_cloexec(struct mosquitto *mosq) {
    int fd = mosquitto_socket(mosq);
    if (fd < 0) return -1;
    int flags = fcntl(fd, F_GETFD);
    if (flags < 0) return -1;
    return (flags & FD_CLOEXEC) ? 0 : fcntl(fd, F_SETFD, flags | FD_CLOEXEC);
}
