// Declarations for child processes: spawning containers, reaping, signalling, limits.
#ifndef KINGLET_PROCESS_H
#define KINGLET_PROCESS_H

#include <stdint.h>
#include <sys/types.h>

#endif
