// Declarations for the kernel's Bluetooth HCI user channel (a controller on a real board).
#ifndef KINGLET_HCI_H
#define KINGLET_HCI_H

/// Opens HCI device `dev` (0 for hci0) on the user channel: the agent then owns the
/// controller and speaks HCI to it with H4 packet-type bytes, as over a UART. The device
/// must be down (`btmgmt power off` / no bluetoothd using it). Non-blocking, close-on-exec.
/// Returns the socket, or -1 with errno (EAFNOSUPPORT: no Bluetooth in this kernel; EBUSY:
/// the device is up or in use; ENODEV: no such device).
int kinglet_hci_user_channel_open(int dev);

#endif
