// Pseudo-terminals (see kinglet_pty.h).
#define _GNU_SOURCE
#include "kinglet_system.h"

int kinglet_open_pty(char *slave_path, size_t size) {
    int master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (master < 0) return -1;
    if (grantpt(master) != 0 || unlockpt(master) != 0 || ptsname_r(master, slave_path, size) != 0) {
        int saved = errno;
        close(master);
        errno = saved;
        return -1;
    }
    struct termios attributes;
    if (tcgetattr(master, &attributes) == 0) {
        cfmakeraw(&attributes);
        tcsetattr(master, TCSANOW, &attributes);
    }
    return master;
}
