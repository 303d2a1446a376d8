// The Bluetooth HCI user channel (see kinglet_hci.h). The address structure and constants
// are the kernel's (include/net/bluetooth/hci_sock.h), written out so that this file needs
// no bluez headers.
#define _GNU_SOURCE
#include "kinglet_system.h"

#include <sys/socket.h>

#ifndef AF_BLUETOOTH
#define AF_BLUETOOTH 31
#endif

enum { kinglet_btproto_hci = 1, kinglet_hci_channel_user = 1 };

struct kinglet_sockaddr_hci {
    sa_family_t hci_family;
    unsigned short hci_dev;
    unsigned short hci_channel;
};

int kinglet_hci_user_channel_open(int dev) {
    int fd = socket(AF_BLUETOOTH, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, kinglet_btproto_hci);
    if (fd < 0) return -1;
    struct kinglet_sockaddr_hci address = {AF_BLUETOOTH, (unsigned short)dev, kinglet_hci_channel_user};
    if (bind(fd, (struct sockaddr *)&address, sizeof address) != 0) {
        int saved = errno;
        close(fd);
        errno = saved;
        return -1;
    }
    return fd;
}
