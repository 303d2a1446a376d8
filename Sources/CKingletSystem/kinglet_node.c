// Node facts.
#define _GNU_SOURCE
#include "kinglet_system.h"

#include <sys/statvfs.h>

int64_t kinglet_online_cpus(void) { return (int64_t)sysconf(_SC_NPROCESSORS_ONLN); }

int kinglet_filesystem_kib(const char *path, int64_t *total_kib, int64_t *available_kib) {
    struct statvfs fs;
    if (statvfs(path, &fs) != 0) return -1;
    *total_kib = (int64_t)((fs.f_blocks * (unsigned long long)fs.f_frsize) / 1024);
    *available_kib = (int64_t)((fs.f_bavail * (unsigned long long)fs.f_frsize) / 1024);
    return 0;
}
