// Folders.
#define _GNU_SOURCE
#include "kinglet_system.h"

#include <dirent.h>
#include <ftw.h>

static char *list_folder(const char *path, size_t *length, int want_folders) {
    DIR *folder = opendir(path);
    if (!folder) return NULL;
    size_t capacity = 256, used = 0;
    char *names = malloc(capacity);
    if (!names) { closedir(folder); errno = ENOMEM; return NULL; }
    struct dirent *entry;
    while ((entry = readdir(folder)) != NULL) {
        if (entry->d_name[0] == '.') continue;
        char full[4096];
        if (snprintf(full, sizeof full, "%s/%s", path, entry->d_name) >= (int)sizeof full) continue;
        struct stat info;
        if (stat(full, &info) != 0) continue;
        if (want_folders ? !S_ISDIR(info.st_mode) : !S_ISREG(info.st_mode)) continue;
        size_t size = strlen(entry->d_name) + 1;
        if (used + size > capacity) {
            while (used + size > capacity) capacity *= 2;
            char *grown = realloc(names, capacity);
            if (!grown) { free(names); closedir(folder); errno = ENOMEM; return NULL; }
            names = grown;
        }
        memcpy(names + used, entry->d_name, size);
        used += size;
    }
    closedir(folder);
    *length = used;
    return names;
}

char *kinglet_directory_files(const char *path, size_t *length) { return list_folder(path, length, 0); }
char *kinglet_directory_entries(const char *path, size_t *length) { return list_folder(path, length, 1); }

void kinglet_free(void *pointer) { free(pointer); }

int kinglet_make_folders(const char *path, unsigned int mode) {
    char partial[4096];
    size_t length = strlen(path);
    if (length == 0 || length >= sizeof partial) { errno = ENAMETOOLONG; return -1; }
    memcpy(partial, path, length + 1);
    for (size_t i = 1; i <= length; i++) {
        if (partial[i] != '/' && partial[i] != '\0') continue;
        char saved = partial[i];
        partial[i] = '\0';
        if (mkdir(partial, (mode_t)mode) != 0 && errno != EEXIST) return -1;
        partial[i] = saved;
    }
    return 0;
}

static int remove_entry(const char *path, const struct stat *info, int type, struct FTW *walk) {
    (void)info; (void)type; (void)walk;
    return remove(path);
}

int kinglet_remove_tree(const char *path) {
    struct stat info;
    if (lstat(path, &info) != 0) return errno == ENOENT ? 0 : -1;
    // Depth first, physical: children before their folder, symlinks removed, not followed.
    return nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}
