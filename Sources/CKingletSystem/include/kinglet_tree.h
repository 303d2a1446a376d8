// Declarations for unpacking image layers: every call works below a folder descriptor and
// never follows a symlink, so an entry cannot reach outside the folder it is unpacked into.
#ifndef KINGLET_TREE_H
#define KINGLET_TREE_H

#include <stddef.h>
#include <stdint.h>

/// The S_IFMT kinds kinglet_tree_entry_mode reports.
static const unsigned int KINGLET_TREE_KIND_MASK = 0170000;
static const unsigned int KINGLET_TREE_DIRECTORY = 0040000;
static const unsigned int KINGLET_TREE_SYMLINK = 0120000;
static const unsigned int KINGLET_TREE_CHARACTER_DEVICE = 0020000;
static const unsigned int KINGLET_TREE_BLOCK_DEVICE = 0060000;
static const unsigned int KINGLET_TREE_FIFO = 0010000;

/// open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC): the root an unpack starts from (the
/// caller's own path, so a symlink there is followed). Returns the descriptor, or -1 with errno.
int kinglet_tree_open_root(const char *path);
/// openat(folder, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC): a sub-folder that
/// is not a symlink (ELOOP or ENOTDIR when it is one). Returns the descriptor, or -1 with errno.
int kinglet_tree_open_folder(int folder, const char *name);
/// openat(folder, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode): a new
/// regular file (EEXIST when anything, a symlink included, is there). Returns the descriptor,
/// or -1 with errno.
int kinglet_tree_create_file(int folder, const char *name, unsigned int mode);
/// fstatat(folder, name, AT_SYMLINK_NOFOLLOW): st_mode into *mode. Returns 0, or -1 with errno
/// (ENOENT when nothing is there).
int kinglet_tree_entry_mode(int folder, const char *name, unsigned int *mode);
/// mknodat(folder, name, mode, makedev(major, minor)); mode carries the kind (S_IFCHR,
/// S_IFBLK, S_IFIFO). Returns 0, or -1 with errno.
int kinglet_tree_make_node(int folder, const char *name, unsigned int mode, unsigned int major, unsigned int minor);
/// fchownat(folder, name, uid, gid, AT_SYMLINK_NOFOLLOW). Returns 0, or -1 with errno.
int kinglet_tree_set_owner(int folder, const char *name, unsigned int uid, unsigned int gid);
/// fchmodat(folder, name, mode, 0), for an entry just created as a device or FIFO (Linux has
/// no chmod of a symlink, and a symlink never gets here). Returns 0, or -1 with errno.
int kinglet_tree_set_mode(int folder, const char *name, unsigned int mode);
/// utimensat(folder, name, {mtime, mtime}, AT_SYMLINK_NOFOLLOW): access and modification
/// time both set to the entry's mtime, on a symlink itself. Returns 0, or -1 with errno.
int kinglet_tree_set_times(int folder, const char *name, int64_t seconds, int64_t nanoseconds);
/// futimens(fd, {mtime, mtime}). Returns 0, or -1 with errno.
int kinglet_tree_set_times_fd(int fd, int64_t seconds, int64_t nanoseconds);
/// Removes `name` below `folder`, and everything below it when it is a folder, never
/// following a symlink (a symlink is removed, not its target). Returns 0 (also when nothing
/// is there), or -1 with errno.
int kinglet_tree_remove(int folder, const char *name);
/// The names in the folder open at `folder` ("." and ".." left out), each followed by a NUL,
/// in one malloc'd buffer the caller frees with kinglet_free. Returns NULL with errno on
/// error; an empty folder gives a buffer with *length 0. `folder` stays open and usable.
char *kinglet_tree_list(int folder, size_t *length);

/// What fstatat(AT_SYMLINK_NOFOLLOW) says of an entry, for copying a layer folder.
struct kinglet_tree_info {
    uint32_t mode;
    uint32_t uid;
    uint32_t gid;
    uint32_t major;
    uint32_t minor;
    uint32_t links;
    int64_t size;
    int64_t seconds;
    int64_t nanoseconds;
    uint64_t device;
    uint64_t inode;
};
/// fstatat(folder, name, AT_SYMLINK_NOFOLLOW) into *info. Returns 0, or -1 with errno.
int kinglet_tree_info(int folder, const char *name, struct kinglet_tree_info *info);
/// openat(folder, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC): a file to read (ELOOP for a
/// symlink). Returns the descriptor, or -1 with errno.
int kinglet_tree_open_file(int folder, const char *name);
/// readlinkat(folder, name) into `buffer` (not NUL-terminated). Returns the length, or -1
/// with errno (ENAMETOOLONG when it does not fit).
long kinglet_tree_read_link(int folder, const char *name, char *buffer, size_t size);
/// overlayfs's whiteout: a character device 0/0 named `name` (mknodat; needs CAP_MKNOD
/// before Linux 5.8). Returns 0, or -1 with errno.
int kinglet_tree_make_whiteout(int folder, const char *name);
/// overlayfs's opaque folder: the xattr trusted.overlay.opaque = "y" on the folder open at
/// `fd` (needs CAP_SYS_ADMIN and a file system with trusted xattrs). Returns 0, or -1 with
/// errno (EPERM, EOPNOTSUPP).
int kinglet_tree_set_opaque(int fd);
/// 1 when the folder open at `fd` carries trusted.overlay.opaque = "y", else 0.
int kinglet_tree_is_opaque(int fd);

#endif
