// Declarations for leftovers of a previous agent run.
#ifndef KINGLET_ORPHANS_H
#define KINGLET_ORPHANS_H

#include <stdint.h>

/// Sends SIGKILL to every process group led by a process whose environment holds exactly
/// `entry` (e.g. "KINGLET_OWNER=/var/lib/kinglet/cache.kc"), and returns how many groups
/// it killed. Container processes of a killed agent survive it in their own groups; the
/// next agent must not run them twice. Groups led by one of the `spared_count` pids in
/// `spared` (containers the keeper holds for adoption) are left alone.
int kinglet_kill_tagged_process_groups(const char *entry, const int32_t *spared, int spared_count);

/// Marks every descriptor above 2 that the agent inherited (from a shell, systemd, a test
/// harness) close-on-exec, so none leaks into containers, as runc closes them. Returns how
/// many it marked.
int kinglet_cloexec_inherited_descriptors(void);

#endif
