// posix_openpt and friends are declared only with _GNU_SOURCE (or _XOPEN_SOURCE), which must
// not leak into the header: it changes glibc struct layouts the other C modules also see.
#define _GNU_SOURCE 1
#include <errno.h>
#include "CKingletSimSystem.h"

int ksim_open_pty(char *name, size_t size) {
    int fd = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (fd < 0) return -1;
    if (grantpt(fd) != 0 || unlockpt(fd) != 0 || ptsname_r(fd, name, size) != 0) {
        int saved = errno;
        close(fd);
        errno = saved;
        return -1;
    }
    return fd;
}
