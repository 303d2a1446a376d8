// CKingletSimSystem: the C the simulator's pty server needs that Swift's Glibc module does not
// export (signalfd), and non-variadic wrappers for variadic calls.
#ifndef CKINGLET_SIM_SYSTEM_H
#define CKINGLET_SIM_SYSTEM_H

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/signalfd.h>
#include <termios.h>
#include <unistd.h>

/// signalfd(-1, mask, SFD_NONBLOCK | SFD_CLOEXEC): a descriptor that reads the blocked signals.
static inline int ksim_signalfd(const sigset_t *mask) {
    return signalfd(-1, mask, SFD_NONBLOCK | SFD_CLOEXEC);
}

/// The signal number of one `struct signalfd_siginfo` read from a signalfd, or -1 when none.
static inline int ksim_read_signal(int fd) {
    struct signalfd_siginfo info;
    ssize_t n = read(fd, &info, sizeof info);
    return n == (ssize_t)sizeof info ? (int)info.ssi_signo : -1;
}

/// posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC), grantpt, unlockpt, ptsname_r into `name`.
/// Returns the master descriptor, or -1 with errno set (and nothing left open).
int ksim_open_pty(char *name, size_t size);

/// fcntl(fd, F_SETFL, flags | O_NONBLOCK).
static inline int ksim_set_nonblocking(int fd) {
    int flags = fcntl(fd, F_GETFL);
    return flags < 0 ? -1 : fcntl(fd, F_SETFL, flags | O_NONBLOCK);
}

/// open(path, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC).
static inline int ksim_open_tty(const char *path) {
    return open(path, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
}

#endif
