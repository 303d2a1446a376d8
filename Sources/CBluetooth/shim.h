// CBluetooth: bluez's libbluetooth (HCI sockets, address helpers).
#include <sys/socket.h>
#include <bluetooth/bluetooth.h>
#include <bluetooth/hci.h>
#include <bluetooth/hci_lib.h>

#ifdef KINGLET_STATIC_DEPS
// libbluetooth has no version call; cross/deps stamps the bluez source version into the
// static archive it builds.
const char *kinglet_bluez_version(void);
#endif
