// Declarations for the event loop: errno, descriptors, epoll, clocks, signalfd.
#ifndef KINGLET_LOOP_H
#define KINGLET_LOOP_H

#include <stdint.h>
#include <sys/epoll.h>

/// One readiness report from epoll, unpacked (epoll_event is packed on x86_64).
struct kinglet_event {
    int32_t fd;
    uint32_t events;
};

/// epoll flags, as plain constants (glibc makes them enum members, musl macros).
static const uint32_t KINGLET_EPOLLIN = EPOLLIN;
static const uint32_t KINGLET_EPOLLOUT = EPOLLOUT;
static const uint32_t KINGLET_EPOLLERR = EPOLLERR;
static const uint32_t KINGLET_EPOLLHUP = EPOLLHUP;
static const uint32_t KINGLET_EPOLLRDHUP = EPOLLRDHUP;

/// The calling thread's errno.
int kinglet_errno(void);
/// strerror(3), never NULL.
const char *kinglet_strerror(int error);

/// open(2) with an explicit mode (the libc call is variadic). Adds O_CLOEXEC.
int kinglet_open(const char *path, int flags, unsigned int mode);
/// Sets or clears O_NONBLOCK. Returns 0 or -1 with errno.
int kinglet_set_nonblocking(int fd, int on);
/// Sets FD_CLOEXEC: for descriptors a C library opened without O_CLOEXEC (libmodbus), so
/// containers do not inherit the board's serial ports. Returns 0, or -1 with errno.
int kinglet_set_cloexec(int fd);
/// pipe2(2) with O_CLOEXEC | O_NONBLOCK on both ends.
int kinglet_pipe_nonblocking(int fds[2]);

/// epoll_create1(EPOLL_CLOEXEC).
int kinglet_epoll_create(void);
/// epoll_ctl ADD / MOD / DEL, keyed by the file descriptor itself.
int kinglet_epoll_add(int epfd, int fd, uint32_t events);
int kinglet_epoll_modify(int epfd, int fd, uint32_t events);
int kinglet_epoll_remove(int epfd, int fd);
/// epoll_wait into unpacked events. Returns the count, or -1 with errno (EINTR included).
int kinglet_epoll_wait(int epfd, struct kinglet_event *events, int capacity, int timeout_ms);
/// The same, waiting at most until `deadline_ns` on CLOCK_MONOTONIC (-1: no deadline), to
/// the nanosecond with epoll_pwait2 (Linux 5.11), else rounded up to the next millisecond.
int kinglet_epoll_wait_until(int epfd, struct kinglet_event *events, int capacity, int64_t deadline_ns);

/// CLOCK_MONOTONIC in nanoseconds.
int64_t kinglet_monotonic_ns(void);
/// CLOCK_REALTIME in nanoseconds since the Unix epoch.
int64_t kinglet_realtime_ns(void);

/// Blocks `count` signals for the calling thread and returns a non-blocking signalfd that
/// reports them, or -1 with errno.
int kinglet_signalfd_open(const int *signals, int count);
/// Reads one pending signal: its number, 0 when none is pending, -1 with errno on error.
int kinglet_signalfd_read(int fd);
/// Unblocks `count` signals for the calling thread.
int kinglet_signals_unblock(const int *signals, int count);
/// Ignores SIGPIPE process-wide: a write to a closed socket or pipe must fail with EPIPE,
/// not kill the agent.
int kinglet_ignore_sigpipe(void);

#endif
