// Declarations for pseudo-terminals: the device simulators and their tests (the agent
// itself opens serial ports by path).
#ifndef KINGLET_PTY_H
#define KINGLET_PTY_H

#include <stddef.h>

/// Opens a pseudo-terminal's master side (O_RDWR, O_NOCTTY, close-on-exec) in raw mode and
/// unlocks its slave side, whose path (/dev/pts/N) goes into `slave_path`. Returns the
/// master descriptor, or -1 with errno.
int kinglet_open_pty(char *slave_path, size_t size);

#endif
