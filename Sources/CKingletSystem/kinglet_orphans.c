// Leftover container processes.
#define _GNU_SOURCE
#include "kinglet_system.h"

#include <dirent.h>

static int environment_has(pid_t pid, const char *entry) {
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/environ", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 0;
    static char buffer[65536];
    ssize_t length = read(fd, buffer, sizeof buffer - 1);
    close(fd);
    if (length <= 0) return 0;
    buffer[length] = '\0';
    size_t wanted = strlen(entry);
    for (ssize_t start = 0; start < length;) {
        size_t size = strlen(buffer + start);
        if (size == wanted && memcmp(buffer + start, entry, wanted) == 0) return 1;
        start += (ssize_t)size + 1;
    }
    return 0;
}

static int is_spared(pid_t pid, const int32_t *spared, int spared_count) {
    for (int i = 0; i < spared_count; i++) if (spared[i] == pid) return 1;
    return 0;
}

int kinglet_kill_tagged_process_groups(const char *entry, const int32_t *spared, int spared_count) {
    DIR *proc = opendir("/proc");
    if (!proc) return 0;
    int killed = 0;
    pid_t self = getpid();
    struct dirent *item;
    while ((item = readdir(proc)) != NULL) {
        char *end;
        long pid = strtol(item->d_name, &end, 10);
        if (*end != '\0' || pid <= 1 || pid == self) continue;
        // Only group leaders: the exec runtime starts each container as its own group.
        if (getpgid((pid_t)pid) != (pid_t)pid) continue;
        if (is_spared((pid_t)pid, spared, spared_count)) continue;
        if (!environment_has((pid_t)pid, entry)) continue;
        if (kill(-(pid_t)pid, SIGKILL) == 0) killed++;
    }
    closedir(proc);
    return killed;
}

int kinglet_cloexec_inherited_descriptors(void) {
    DIR *folder = opendir("/proc/self/fd");
    if (!folder) return -1;
    int own = dirfd(folder);
    int marked = 0;
    struct dirent *item;
    while ((item = readdir(folder)) != NULL) {
        char *end;
        long fd = strtol(item->d_name, &end, 10);
        if (*end != '\0' || fd <= 2 || fd == own) continue;
        int flags = fcntl((int)fd, F_GETFD);
        if (flags >= 0 && !(flags & FD_CLOEXEC) && fcntl((int)fd, F_SETFD, flags | FD_CLOEXEC) == 0) marked++;
    }
    closedir(folder);
    return marked;
}
