// Declarations for node facts: CPUs, filesystem sizes.
#ifndef KINGLET_NODE_H
#define KINGLET_NODE_H

#include <stdint.h>

/// Online CPUs (sysconf(_SC_NPROCESSORS_ONLN): an enum in glibc, a macro in musl).
int64_t kinglet_online_cpus(void);
/// Total and available KiB of the filesystem holding `path`. Returns 0 or -1 with errno.
int kinglet_filesystem_kib(const char *path, int64_t *total_kib, int64_t *available_kib);

#endif
