// Sockets.
#define _GNU_SOURCE
#include "kinglet_system.h"
