// Declarations for files and memory maps: the pod cache, logs, config folders.
#ifndef KINGLET_FILES_H
#define KINGLET_FILES_H

#include <stddef.h>
#include <stdint.h>

/// Opens an existing file read-write (writable != 0) or read-only. O_CLOEXEC.
/// Returns the descriptor, or -1 with errno.
int kinglet_file_open_existing(const char *path, int writable);
/// Creates a new file, mode 0600, failing with EEXIST when one is there (O_EXCL).
/// Returns a read-write descriptor, or -1 with errno.
int kinglet_file_create_exclusive(const char *path);
/// fstat(2) size. Returns 0, or -1 with errno.
int kinglet_file_length(int fd, int64_t *size);
/// Sets the file's length and reserves its blocks (posix_fallocate), so a later store into
/// a shared mapping cannot raise SIGBUS on a full disk. File systems without fallocate
/// support keep the (sparse) length. Returns 0, or -1 with errno.
int kinglet_file_reserve(int fd, int64_t length);
/// flock(LOCK_EX | LOCK_NB): one writer per file. Returns 0, or -1 with errno
/// (EWOULDBLOCK when another process holds it).
int kinglet_file_lock_exclusive(int fd);
/// fsync(2) of the folder holding `path`, so a created or renamed entry is durable.
/// Returns 0, or -1 with errno.
int kinglet_file_sync_parent_directory(const char *path);
/// 1 when something exists at `path` (lstat succeeds), else 0.
int kinglet_file_exists(const char *path);

/// mmap(2) of `length` bytes from offset 0, MAP_SHARED, read-only unless `writable`, advised
/// MADV_RANDOM. Returns NULL (never MAP_FAILED) with errno on failure.
void *kinglet_map_shared(int fd, size_t length, int writable);
/// munmap(2).
int kinglet_map_remove(void *base, size_t length);
/// msync(MS_SYNC) of bytes [offset, offset + length) of the mapping at `base`, widened to
/// whole pages (msync wants a page-aligned start). Returns 0, or -1 with errno.
int kinglet_map_sync(void *base, size_t offset, size_t length);
/// madvise(MADV_DONTNEED) on the whole pages inside [offset, offset + length): they leave
/// this process's resident set. Safe for MAP_SHARED file pages: the data stays in the page
/// cache and in the file, and a later access faults it back in. Returns 0, or -1 with errno.
int kinglet_map_release_pages(void *base, size_t offset, size_t length);
/// The kernel's page size.
size_t kinglet_map_page_size(void);

#endif
