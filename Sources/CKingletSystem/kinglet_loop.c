// The event loop's C side. pipe2, accept4 and friends are GNU/Linux extensions in both glibc and musl.
#define _GNU_SOURCE
#include "kinglet_system.h"

#include <sys/random.h>
#include <sys/syscall.h>

int kinglet_errno(void) { return errno; }

const char *kinglet_strerror(int error) {
    const char *text = strerror(error);
    return text ? text : "unknown error";
}

int kinglet_open(const char *path, int flags, unsigned int mode) {
    return open(path, flags | O_CLOEXEC, (mode_t)mode);
}

int kinglet_set_nonblocking(int fd, int on) {
    int flags = fcntl(fd, F_GETFL);
    if (flags < 0) return -1;
    flags = on ? (flags | O_NONBLOCK) : (flags & ~O_NONBLOCK);
    return fcntl(fd, F_SETFL, flags);
}

int kinglet_set_cloexec(int fd) {
    int flags = fcntl(fd, F_GETFD);
    if (flags < 0) return -1;
    return fcntl(fd, F_SETFD, flags | FD_CLOEXEC);
}

int kinglet_pipe_nonblocking(int fds[2]) { return pipe2(fds, O_CLOEXEC | O_NONBLOCK); }

int kinglet_epoll_create(void) { return epoll_create1(EPOLL_CLOEXEC); }

static int epoll_control(int epfd, int op, int fd, uint32_t events) {
    struct epoll_event event;
    memset(&event, 0, sizeof event);
    event.events = events;
    event.data.fd = fd;
    return epoll_ctl(epfd, op, fd, &event);
}

int kinglet_epoll_add(int epfd, int fd, uint32_t events) { return epoll_control(epfd, EPOLL_CTL_ADD, fd, events); }
int kinglet_epoll_modify(int epfd, int fd, uint32_t events) { return epoll_control(epfd, EPOLL_CTL_MOD, fd, events); }
int kinglet_epoll_remove(int epfd, int fd) { return epoll_control(epfd, EPOLL_CTL_DEL, fd, 0); }

static int unpack(const struct epoll_event *raw, int count, struct kinglet_event *events) {
    for (int i = 0; i < count; i++) {
        events[i].fd = raw[i].data.fd;
        events[i].events = raw[i].events;
    }
    return count;
}

int kinglet_epoll_wait(int epfd, struct kinglet_event *events, int capacity, int timeout_ms) {
    struct epoll_event raw[64];
    if (capacity > 64) capacity = 64;
    return unpack(raw, epoll_wait(epfd, raw, capacity, timeout_ms), events);
}

#ifndef SYS_epoll_pwait2
#define SYS_epoll_pwait2 441 /* the same number on every architecture (Linux 5.11) */
#endif

/* Set once epoll_pwait2 turned out to be unavailable: later waits go straight to epoll_wait. */
static int pwait2_missing;

int kinglet_epoll_wait_until(int epfd, struct kinglet_event *events, int capacity, int64_t deadline_ns) {
    struct epoll_event raw[64];
    if (capacity > 64) capacity = 64;
    if (deadline_ns < 0) return unpack(raw, epoll_wait(epfd, raw, capacity, -1), events);
    int64_t wait_ns = deadline_ns - kinglet_monotonic_ns();
    if (wait_ns < 0) wait_ns = 0;
    if (!pwait2_missing) {
        /* The timeout replaces a timerfd: no settime and no read per timer, and no wake-up
           for the timerfd itself. The kernel copies it in before the wait begins. */
        struct timespec timeout = {.tv_sec = wait_ns / 1000000000LL, .tv_nsec = wait_ns % 1000000000LL};
        long count = syscall(SYS_epoll_pwait2, epfd, raw, capacity, &timeout, NULL, (size_t)0);
        /* ENOSYS: an older kernel or qemu-user; EPERM: a seccomp filter that does not know it. */
        if (count >= 0 || (errno != ENOSYS && errno != EPERM)) return unpack(raw, (int)count, events);
        pwait2_missing = 1;
    }
    /* Rounded up: a timer must never find itself woken before its deadline and spin. */
    int64_t wait_ms = (wait_ns + 999999) / 1000000;
    if (wait_ms > 0x7fffffff) wait_ms = 0x7fffffff;
    return unpack(raw, epoll_wait(epfd, raw, capacity, (int)wait_ms), events);
}

static int64_t clock_ns(clockid_t clock) {
    struct timespec now;
    clock_gettime(clock, &now);
    return (int64_t)now.tv_sec * 1000000000LL + now.tv_nsec;
}

int64_t kinglet_monotonic_ns(void) { return clock_ns(CLOCK_MONOTONIC); }
int64_t kinglet_realtime_ns(void) { return clock_ns(CLOCK_REALTIME); }

static int fill_set(sigset_t *set, const int *signals, int count) {
    sigemptyset(set);
    for (int i = 0; i < count; i++) {
        if (sigaddset(set, signals[i]) != 0) return -1;
    }
    return 0;
}

int kinglet_signalfd_open(const int *signals, int count) {
    sigset_t set;
    if (fill_set(&set, signals, count) != 0) return -1;
    int error = pthread_sigmask(SIG_BLOCK, &set, NULL);
    if (error != 0) { errno = error; return -1; }
    return signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
}

int kinglet_signalfd_read(int fd) {
    struct signalfd_siginfo info;
    ssize_t got = read(fd, &info, sizeof info);
    if (got == (ssize_t)sizeof info) return (int)info.ssi_signo;
    if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return 0;
    return -1;
}

int kinglet_signals_unblock(const int *signals, int count) {
    sigset_t set;
    if (fill_set(&set, signals, count) != 0) return -1;
    int error = pthread_sigmask(SIG_UNBLOCK, &set, NULL);
    if (error != 0) { errno = error; return -1; }
    return 0;
}

int kinglet_ignore_sigpipe(void) {
    return signal(SIGPIPE, SIG_IGN) == SIG_ERR ? -1 : 0;
}

#if !defined(__GLIBC__)
// musl 1.2.3 has no arc4random_buf, which the Swift standard library's hashing seed needs.
void arc4random_buf(void *buffer, size_t length) {
    unsigned char *bytes = buffer;
    while (length > 0) {
        ssize_t got = getrandom(bytes, length, 0);
        if (got <= 0) {
            if (got < 0 && errno == EINTR) continue;
            abort(); // no entropy source at all: hashing must not run unseeded
        }
        bytes += got;
        length -= (size_t)got;
    }
}
#endif
