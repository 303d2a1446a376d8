// Files and memory maps.
#define _GNU_SOURCE
#include "kinglet_system.h"
