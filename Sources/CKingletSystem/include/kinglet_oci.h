// Declarations for the OCI runtime (runc, crun): the agent as the containers' subreaper,
// their overlayfs roots, device nodes, and removing a bundle off the event loop.
#ifndef KINGLET_OCI_H
#define KINGLET_OCI_H

#include <stdint.h>
#include <sys/types.h>

/// prctl(PR_SET_CHILD_SUBREAPER, enabled): orphans below the agent (a container's init,
/// once `runc create` has exited) are re-parented to it instead of to PID 1, so their exit
/// reaches the agent's waitid. Returns 0, or -1 with errno.
int kinglet_oci_set_child_subreaper(int enabled);
/// 1 when the process is a child subreaper, 0 when not, -1 with errno.
int kinglet_oci_is_child_subreaper(void);

/// mount("overlay", target, "overlay", 0, "lowerdir=...,upperdir=...,workdir=..."). `lower`
/// is one folder or several, top first, separated by ':' (so no folder may hold one). A path
/// holding ',' (or ':' in upper and work) cannot be written in the options: EINVAL without
/// trying; options longer than a page: ENAMETOOLONG. Returns 0,
/// or -1 with errno (ENODEV without overlayfs, EPERM without the right, EINVAL when the
/// upper folder's file system cannot be an upper layer, e.g. overlayfs itself).
int kinglet_oci_mount_overlay(const char *lower, const char *upper, const char *work, const char *target);
/// umount2(target, UMOUNT_NOFOLLOW), then with MNT_DETACH when it is busy. Returns 0 when
/// something was unmounted, 1 when nothing is mounted there (or the path is missing), -1
/// with errno.
int kinglet_oci_unmount(const char *target);

/// A device node on the host, for a container's device list.
struct kinglet_oci_device {
    /// 1 for a block device, 0 for a character device.
    int32_t block;
    uint32_t major;
    uint32_t minor;
    /// The permission bits (st_mode & 07777).
    uint32_t mode;
    uint32_t uid;
    uint32_t gid;
};
/// stat(2) of `path` (symlinks followed: /dev/serial/by-id/... names work). Returns 0, or -1
/// with errno (ENODEV when it is not a character or block device).
int kinglet_oci_device_info(const char *path, struct kinglet_oci_device *device);

/// Removes `path` and everything below it without following symlinks and without crossing
/// into another file system (a folder with another st_dev, i.e. something still mounted
/// there, fails with EBUSY and is left as it is). Returns 0 (also when nothing is there),
/// or -1 with errno.
int kinglet_oci_remove_tree(const char *path);
/// Forks a child that runs kinglet_oci_remove_tree(path) and exits 0, or with the errno
/// (1...125) of the failure: a large copied root file system is removed off the event loop.
/// Returns 0 and stores the pid, or an errno value.
int kinglet_oci_spawn_remove_tree(const char *path, pid_t *pid);

/// Opens `relative` (e.g. "etc/passwd") below the folder `root` for reading, refusing every
/// symlink and ".." on the way (ELOOP, EINVAL), so an image's file cannot point outside its
/// root. Returns the descriptor (O_CLOEXEC), or -1 with errno.
int kinglet_oci_open_in_root(const char *root, const char *relative);

#endif
