// Declarations for the agent's own memory footprint.
#ifndef KINGLET_MEMORY_H
#define KINGLET_MEMORY_H

/// Advises MADV_RANDOM on the program's own read-only segments (code and constants).
/// Linux maps the pages around a faulting file page ("fault-around", 64 KiB by default),
/// so code that runs once, scattered over a static binary (OpenSSL's set-up at connect),
/// leaves most of the binary in the resident set. With the advice only pages that run are
/// mapped. Returns the number of segments advised, or -1 with errno.
int kinglet_advise_program_random(void);

#endif
