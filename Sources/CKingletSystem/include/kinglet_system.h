// CKingletSystem: the agent's only door to the C library and the Linux kernel.
//
// Both build modes (full Swift on glibc, Embedded Swift on musl) import this module and
// nothing else from the system, so they see one API. Variadic calls (open, fcntl, ioctl),
// macros whose type differs between glibc and musl, and the packed epoll_event are wrapped
// here in plain functions and constants.
#ifndef KINGLET_SYSTEM_H
#define KINGLET_SYSTEM_H

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/types.h>
#include <sys/utsname.h>
#include <sys/wait.h>

#include "kinglet_loop.h"
#include "kinglet_files.h"
#include "kinglet_process.h"
#include "kinglet_node.h"
#include "kinglet_unix.h"
#include "kinglet_dirs.h"
#include "kinglet_orphans.h"
#include "kinglet_memory.h"
#include "kinglet_flusher.h"
#include "kinglet_serial.h"
#include "kinglet_hci.h"
#include "kinglet_net.h"
#include "kinglet_resolver.h"
#include "kinglet_text.h"
#include "kinglet_keeper.h"
#include "kinglet_tree.h"
#include "kinglet_oci.h"

#endif
