// Declarations for serial ports: ZNP coordinators and H4 Bluetooth controllers on UARTs.
#ifndef KINGLET_SERIAL_H
#define KINGLET_SERIAL_H

/// Opens a serial device (O_RDWR, O_NOCTTY, O_NONBLOCK, O_CLOEXEC) in raw mode, 8N1, at
/// `baud` (a standard rate: 9600 ... 921600), with hardware flow control when
/// `rtscts` != 0. Returns the descriptor, or -1 with errno (EINVAL for an unknown rate).
int kinglet_serial_open(const char *path, int baud, int rtscts);

#endif
