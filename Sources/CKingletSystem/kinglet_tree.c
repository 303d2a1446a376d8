// Unpacking image layers below a folder descriptor, without following symlinks.
#define _GNU_SOURCE
#include "kinglet_system.h"

#include <dirent.h>
#include <sys/xattr.h>
#include <sys/sysmacros.h>

int kinglet_tree_open_root(const char *path) {
    return open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

int kinglet_tree_open_folder(int folder, const char *name) {
    return openat(folder, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
}

int kinglet_tree_create_file(int folder, const char *name, unsigned int mode) {
    return openat(folder, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, (mode_t)mode);
}

int kinglet_tree_entry_mode(int folder, const char *name, unsigned int *mode) {
    struct stat info;
    if (fstatat(folder, name, &info, AT_SYMLINK_NOFOLLOW) != 0) return -1;
    *mode = (unsigned int)info.st_mode;
    return 0;
}

int kinglet_tree_make_node(int folder, const char *name, unsigned int mode, unsigned int major, unsigned int minor) {
    return mknodat(folder, name, (mode_t)mode, makedev(major, minor));
}

int kinglet_tree_set_owner(int folder, const char *name, unsigned int uid, unsigned int gid) {
    return fchownat(folder, name, (uid_t)uid, (gid_t)gid, AT_SYMLINK_NOFOLLOW);
}

int kinglet_tree_set_mode(int folder, const char *name, unsigned int mode) {
    return fchmodat(folder, name, (mode_t)mode, 0);
}

int kinglet_tree_set_times(int folder, const char *name, int64_t seconds, int64_t nanoseconds) {
    struct timespec times[2];
    times[0].tv_sec = (time_t)seconds;
    times[0].tv_nsec = (long)nanoseconds;
    times[1] = times[0];
    return utimensat(folder, name, times, AT_SYMLINK_NOFOLLOW);
}

int kinglet_tree_set_times_fd(int fd, int64_t seconds, int64_t nanoseconds) {
    struct timespec times[2];
    times[0].tv_sec = (time_t)seconds;
    times[0].tv_nsec = (long)nanoseconds;
    times[1] = times[0];
    return futimens(fd, times);
}

int kinglet_tree_remove(int folder, const char *name) {
    struct stat info;
    if (fstatat(folder, name, &info, AT_SYMLINK_NOFOLLOW) != 0) return errno == ENOENT ? 0 : -1;
    if (!S_ISDIR(info.st_mode)) {
        if (unlinkat(folder, name, 0) == 0 || errno == ENOENT) return 0;
        return -1;
    }
    int fd = openat(folder, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) return -1;
    DIR *listing = fdopendir(fd);
    if (listing == NULL) { int saved = errno; close(fd); errno = saved; return -1; }
    // Each level holds one descriptor: the depth of the tree, not its size.
    int result = 0;
    struct dirent *entry;
    while ((entry = readdir(listing)) != NULL) {
        const char *child = entry->d_name;
        if (child[0] == '.' && (child[1] == '\0' || (child[1] == '.' && child[2] == '\0'))) continue;
        if (kinglet_tree_remove(fd, child) != 0) { result = -1; break; }
    }
    int saved = errno;
    closedir(listing);
    if (result != 0) { errno = saved; return -1; }
    if (unlinkat(folder, name, AT_REMOVEDIR) == 0 || errno == ENOENT) return 0;
    return -1;
}

char *kinglet_tree_list(int folder, size_t *length) {
    int fd = dup(folder);
    if (fd < 0) return NULL;
    DIR *listing = fdopendir(fd);
    if (listing == NULL) { int saved = errno; close(fd); errno = saved; return NULL; }
    rewinddir(listing);
    size_t capacity = 256, used = 0;
    char *names = malloc(capacity);
    if (names == NULL) { closedir(listing); errno = ENOMEM; return NULL; }
    struct dirent *entry;
    while ((entry = readdir(listing)) != NULL) {
        const char *child = entry->d_name;
        if (child[0] == '.' && (child[1] == '\0' || (child[1] == '.' && child[2] == '\0'))) continue;
        size_t size = strlen(child) + 1;
        if (used + size > capacity) {
            while (used + size > capacity) capacity *= 2;
            char *grown = realloc(names, capacity);
            if (grown == NULL) { free(names); closedir(listing); errno = ENOMEM; return NULL; }
            names = grown;
        }
        memcpy(names + used, child, size);
        used += size;
    }
    closedir(listing);
    *length = used;
    return names;
}

int kinglet_tree_info(int folder, const char *name, struct kinglet_tree_info *info) {
    struct stat entry;
    if (fstatat(folder, name, &entry, AT_SYMLINK_NOFOLLOW) != 0) return -1;
    info->mode = (uint32_t)entry.st_mode;
    info->uid = (uint32_t)entry.st_uid;
    info->gid = (uint32_t)entry.st_gid;
    info->major = (uint32_t)major(entry.st_rdev);
    info->minor = (uint32_t)minor(entry.st_rdev);
    info->links = (uint32_t)entry.st_nlink;
    info->size = (int64_t)entry.st_size;
    info->seconds = (int64_t)entry.st_mtim.tv_sec;
    info->nanoseconds = (int64_t)entry.st_mtim.tv_nsec;
    info->device = (uint64_t)entry.st_dev;
    info->inode = (uint64_t)entry.st_ino;
    return 0;
}

int kinglet_tree_open_file(int folder, const char *name) {
    return openat(folder, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
}

long kinglet_tree_read_link(int folder, const char *name, char *buffer, size_t size) {
    ssize_t length = readlinkat(folder, name, buffer, size);
    if (length < 0) return -1;
    if ((size_t)length >= size) {
        errno = ENAMETOOLONG;
        return -1;
    }
    return (long)length;
}

int kinglet_tree_make_whiteout(int folder, const char *name) {
    return mknodat(folder, name, S_IFCHR | 0, makedev(0, 0));
}

int kinglet_tree_set_opaque(int fd) {
    return fsetxattr(fd, "trusted.overlay.opaque", "y", 1, 0);
}

int kinglet_tree_is_opaque(int fd) {
    char value[2];
    ssize_t length = fgetxattr(fd, "trusted.overlay.opaque", value, sizeof value);
    return length == 1 && value[0] == 'y';
}
