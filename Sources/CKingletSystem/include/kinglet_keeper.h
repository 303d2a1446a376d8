// Declarations for the container keeper: the small process that holds the containers'
// output pipes and exit codes while no agent runs (docs/runtime.md, "The keeper").
#ifndef KINGLET_KEEPER_H
#define KINGLET_KEEPER_H

#include <stdint.h>
#include <sys/types.h>

/// The most descriptors one keeper message carries.
#define KINGLET_KEEPER_MAX_FDS 4

/// A non-blocking, close-on-exec SOCK_SEQPACKET listener at `path` (a stale socket file is
/// replaced), mode 0600. Returns the fd or -1 with errno.
int kinglet_keeper_listen(const char *path);
/// accept4 on it (non-blocking, close-on-exec). Returns the fd or -1 with errno.
int kinglet_keeper_accept(int listener);
/// A blocking SOCK_SEQPACKET connection to `path` with send and receive timeouts of
/// `timeout_ms`. Returns the fd or -1 with errno (ENOENT or ECONNREFUSED: no keeper).
int kinglet_keeper_connect(const char *path, int timeout_ms);
/// The uid of the peer process of a connected unix socket, or -1 with errno.
int64_t kinglet_keeper_peer_uid(int fd);

/// Sends one message with `fd_count` descriptors (SCM_RIGHTS). Returns the bytes sent, or
/// -1 with errno (EAGAIN on a full non-blocking socket).
ssize_t kinglet_keeper_send(int fd, const uint8_t *bytes, size_t length, const int *fds, int fd_count);
/// Receives one message into `bytes` and up to KINGLET_KEEPER_MAX_FDS descriptors into
/// `fds` (close-on-exec), their count in `*fd_count`. Returns its length (0: the peer
/// closed), or -1 with errno. A message longer than `capacity` is an error (EMSGSIZE) and
/// its descriptors are closed.
ssize_t kinglet_keeper_receive(int fd, uint8_t *bytes, size_t capacity, int *fds, int *fd_count);

/// The start time of process `pid` in clock ticks since boot (field 22 of
/// /proc/<pid>/stat): with the pid, it names one process for as long as the system runs.
/// Returns 0 when the process does not exist.
uint64_t kinglet_process_start_ticks(pid_t pid);
/// Starts the keeper in a session of its own (POSIX_SPAWN_SETSID; its own process group
/// where the C library lacks it), so that neither a Ctrl-C nor a hang-up of the agent's
/// terminal reaches it: stdin /dev/null, stdout and stderr `log_fd`, clean signal state.
/// Returns 0 or an errno value.
int kinglet_spawn_detached(const char *path, char *const argv[], char *const envp[], int log_fd, pid_t *pid);
/// fcntl(F_DUPFD_CLOEXEC): a close-on-exec copy of `fd`, or -1 with errno.
int kinglet_dup_cloexec(int fd);
/// poll(fd, POLLIN, timeout_ms): 1 when readable (or hung up), 0 on time-out, -1 with errno.
int kinglet_keeper_wait_readable(int fd, int timeout_ms);
/// readlink(/proc/self/exe): the running binary, for starting a keeper. Returns 0, or -1
/// with errno.
int kinglet_self_executable(char *buffer, size_t capacity);
/// Raises RLIMIT_NOFILE's soft limit to 8192, or its hard limit when lower (two descriptors
/// per container; the containers inherit it).
void kinglet_keeper_raise_descriptor_limit(void);

#endif
