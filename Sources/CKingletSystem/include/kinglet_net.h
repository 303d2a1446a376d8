// Declarations for sockets: probes, the status socket, the link.
#ifndef KINGLET_NET_H
#define KINGLET_NET_H

#include <stdint.h>
#include <sys/types.h>

#endif
