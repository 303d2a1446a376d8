// Declarations for files and memory maps: the pod cache, logs, config folders.
#ifndef KINGLET_FILES_H
#define KINGLET_FILES_H

#include <stddef.h>
#include <stdint.h>

#endif
