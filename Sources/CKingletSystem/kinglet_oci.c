// The OCI runtime's system calls: subreaper, overlayfs, device nodes, bundle removal.
#define _GNU_SOURCE
#include "kinglet_system.h"

#include <dirent.h>
#include <limits.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/sysmacros.h>

#ifndef UMOUNT_NOFOLLOW
#define UMOUNT_NOFOLLOW 0x00000008
#endif

int kinglet_oci_set_child_subreaper(int enabled) {
    return prctl(PR_SET_CHILD_SUBREAPER, (unsigned long)(enabled ? 1 : 0), 0UL, 0UL, 0UL);
}

int kinglet_oci_is_child_subreaper(void) {
    int value = 0;
    if (prctl(PR_GET_CHILD_SUBREAPER, (unsigned long)&value, 0UL, 0UL, 0UL) != 0) return -1;
    return value != 0;
}

int kinglet_oci_mount_overlay(const char *lower, const char *upper, const char *work, const char *target) {
    // `lower` may list several folders, top first, separated by ':'.
    if (strchr(lower, ',') || strpbrk(upper, ",:") || strpbrk(work, ",:")) {
        errno = EINVAL;
        return -1;
    }
    // The kernel takes at most one page of mount options.
    char options[4096];
    int length = snprintf(options, sizeof options, "lowerdir=%s,upperdir=%s,workdir=%s", lower, upper, work);
    if (length < 0 || (size_t)length >= sizeof options) {
        errno = ENAMETOOLONG;
        return -1;
    }
    return mount("overlay", target, "overlay", 0, options);
}

int kinglet_oci_unmount(const char *target) {
    if (umount2(target, UMOUNT_NOFOLLOW) == 0) return 0;
    if (errno == EINVAL || errno == ENOENT) return 1;
    if (errno != EBUSY) return -1;
    return umount2(target, MNT_DETACH | UMOUNT_NOFOLLOW) == 0 ? 0 : -1;
}

int kinglet_oci_device_info(const char *path, struct kinglet_oci_device *device) {
    struct stat info;
    if (stat(path, &info) != 0) return -1;
    if (!S_ISCHR(info.st_mode) && !S_ISBLK(info.st_mode)) {
        errno = ENODEV;
        return -1;
    }
    device->block = S_ISBLK(info.st_mode) ? 1 : 0;
    device->major = (uint32_t)major(info.st_rdev);
    device->minor = (uint32_t)minor(info.st_rdev);
    device->mode = (uint32_t)(info.st_mode & 07777);
    device->uid = (uint32_t)info.st_uid;
    device->gid = (uint32_t)info.st_gid;
    return 0;
}

// Removes `name` below the open folder `parent`; folders must be on `device`.
static int remove_below(int parent, const char *name, dev_t device) {
    struct stat info;
    if (fstatat(parent, name, &info, AT_SYMLINK_NOFOLLOW) != 0) return errno == ENOENT ? 0 : -1;
    if (!S_ISDIR(info.st_mode)) {
        if (unlinkat(parent, name, 0) == 0 || errno == ENOENT) return 0;
        return -1;
    }
    if (info.st_dev != device) {
        errno = EBUSY;
        return -1;
    }
    int fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) return -1;
    DIR *listing = fdopendir(fd);
    if (listing == NULL) {
        int saved = errno;
        close(fd);
        errno = saved;
        return -1;
    }
    // One descriptor per level: the depth of the tree, not its size.
    int result = 0;
    struct dirent *entry;
    while ((entry = readdir(listing)) != NULL) {
        const char *child = entry->d_name;
        if (child[0] == '.' && (child[1] == '\0' || (child[1] == '.' && child[2] == '\0'))) continue;
        if (remove_below(fd, child, device) != 0) {
            result = -1;
            break;
        }
    }
    int saved = errno;
    closedir(listing);
    if (result != 0) {
        errno = saved;
        return -1;
    }
    if (unlinkat(parent, name, AT_REMOVEDIR) == 0 || errno == ENOENT) return 0;
    return -1;
}

int kinglet_oci_remove_tree(const char *path) {
    struct stat info;
    if (lstat(path, &info) != 0) return errno == ENOENT ? 0 : -1;
    return remove_below(AT_FDCWD, path, info.st_dev);
}

int kinglet_oci_spawn_remove_tree(const char *path, pid_t *pid) {
    pid_t child = fork();
    if (child < 0) return errno;
    if (child == 0) {
        int code = 0;
        if (kinglet_oci_remove_tree(path) != 0) code = (errno > 0 && errno < 126) ? errno : 125;
        _exit(code);
    }
    *pid = child;
    return 0;
}

int kinglet_oci_open_in_root(const char *root, const char *relative) {
    int folder = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (folder < 0) return -1;
    const char *cursor = relative;
    char part[NAME_MAX + 1];
    for (;;) {
        while (*cursor == '/') cursor++;
        const char *end = strchr(cursor, '/');
        size_t length = end ? (size_t)(end - cursor) : strlen(cursor);
        if (length == 0 || length > NAME_MAX) {
            close(folder);
            errno = length == 0 ? ENOENT : ENAMETOOLONG;
            return -1;
        }
        memcpy(part, cursor, length);
        part[length] = '\0';
        if (strcmp(part, "..") == 0) {
            close(folder);
            errno = EINVAL;
            return -1;
        }
        int last = end == NULL || end[strspn(end, "/")] == '\0';
        int flags = O_RDONLY | O_NOFOLLOW | O_CLOEXEC | (last ? 0 : O_DIRECTORY);
        int next = openat(folder, part, flags);
        int saved = errno;
        close(folder);
        if (next < 0) {
            errno = saved;
            return -1;
        }
        if (last) return next;
        folder = next;
        cursor = end;
    }
}
