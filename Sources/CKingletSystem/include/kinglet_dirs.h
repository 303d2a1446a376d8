// Declarations for folders: static pod manifests, log folders.
#ifndef KINGLET_DIRS_H
#define KINGLET_DIRS_H

#include <stddef.h>

/// The names of the regular files (and symlinks to them) in `path`, hidden files
/// excluded, each followed by a NUL, in one malloc'd buffer the caller frees with
/// `kinglet_free`. Returns NULL with errno on error; an empty folder gives a buffer with
/// *length 0.
char *kinglet_directory_files(const char *path, size_t *length);
/// The same for sub-folders (hidden ones excluded).
char *kinglet_directory_entries(const char *path, size_t *length);
/// free(3).
void kinglet_free(void *pointer);
/// mkdir -p with `mode` for the folders it creates. Returns 0 or -1 with errno.
int kinglet_make_folders(const char *path, unsigned int mode);

/// rm -rf: removes `path` and everything below it, not following symlinks. Returns 0 (also
/// when `path` does not exist) or -1 with errno.
int kinglet_remove_tree(const char *path);

#endif
