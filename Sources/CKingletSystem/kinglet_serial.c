// Serial ports (see kinglet_serial.h).
#define _GNU_SOURCE
#include "kinglet_system.h"

static speed_t speed_for(int baud) {
    switch (baud) {
    case 9600: return B9600;
    case 19200: return B19200;
    case 38400: return B38400;
    case 57600: return B57600;
    case 115200: return B115200;
    case 230400: return B230400;
    case 460800: return B460800;
    case 921600: return B921600;
    default: return 0;
    }
}

int kinglet_serial_open(const char *path, int baud, int rtscts) {
    speed_t speed = speed_for(baud);
    if (speed == 0) {
        errno = EINVAL;
        return -1;
    }
    int fd = open(path, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) return -1;
    struct termios attributes;
    if (tcgetattr(fd, &attributes) != 0) {
        int saved = errno;
        close(fd);
        errno = saved;
        return -1;
    }
    cfmakeraw(&attributes);
    attributes.c_cflag |= CLOCAL | CREAD;
    if (rtscts) attributes.c_cflag |= CRTSCTS; else attributes.c_cflag &= ~CRTSCTS;
    attributes.c_cc[VMIN] = 0;
    attributes.c_cc[VTIME] = 0;
    cfsetispeed(&attributes, speed);
    cfsetospeed(&attributes, speed);
    if (tcsetattr(fd, TCSANOW, &attributes) != 0) {
        int saved = errno;
        close(fd);
        errno = saved;
        return -1;
    }
    tcflush(fd, TCIOFLUSH);
    return fd;
}
