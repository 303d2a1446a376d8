// Declarations for child processes: spawning containers, reaping, signalling, limits.
#ifndef KINGLET_PROCESS_H
#define KINGLET_PROCESS_H

#include <stdint.h>
#include <sys/types.h>

/// Spawns `path` (no PATH search) with `argv` and `envp` (NULL-terminated) as a container
/// process:
/// - working directory `working_directory` (NULL keeps the agent's);
/// - stdin from /dev/null, stdout and stderr onto `stdout_fd` and `stderr_fd`;
/// - its own process group (pgid = its pid), so the whole group can be signalled;
/// - an empty signal mask and default dispositions for every standard signal, since the
///   agent blocks the signals its signalfd reads and ignores SIGPIPE, and both would be
///   inherited across exec.
/// Returns 0 and stores the pid, or an errno value (posix_spawn's own convention).
int kinglet_spawn(const char *path, char *const argv[], char *const envp[],
                  const char *working_directory, int stdout_fd, int stderr_fd, pid_t *pid);

/// How a child ended, decoded from waitid's siginfo.
struct kinglet_child_exit {
    /// The child's pid; 0 when no child has exited.
    pid_t pid;
    /// 1 when it exited on its own (then `code` is its exit code), 0 when a signal killed
    /// it (then `code` is the signal number).
    int32_t exited;
    int32_t code;
    /// 1 when a signal killed it and it dumped core.
    int32_t core_dumped;
};

/// Looks for an exited child without reaping it (waitid with WNOWAIT | WNOHANG), so its
/// pid and process group id stay reserved until `kinglet_child_reap`. `pid` -1 means any
/// child. Returns 1 and fills `result` when one has exited, 0 when none has (or the process
/// has no such child), -1 with errno on other errors.
int kinglet_child_peek(pid_t pid, struct kinglet_child_exit *result);

/// Reaps an exited child (waitpid with WNOHANG). Returns its pid, 0 when it has not
/// exited, -1 with errno (ECHILD when it is not our child or was reaped already).
pid_t kinglet_child_reap(pid_t pid);

/// Sends `signal` to every process in the process group `pgid`. Returns 0 or -1 with
/// errno (ESRCH when the group is empty).
int kinglet_kill_group(pid_t pgid, int signal);

/// The signal's name, e.g. "SIGKILL", or NULL for numbers without a standard name.
const char *kinglet_signal_name(int signal);

/// Caps a running process's address space (prlimit RLIMIT_AS, soft and hard). Returns 0 or
/// -1 with errno.
int kinglet_limit_address_space(pid_t pid, int64_t bytes);

/// 1 when `path` is a regular file the agent may execute, else 0.
int kinglet_is_executable_file(const char *path);
/// 1 when `path` is a directory, else 0 (errno tells why).
int kinglet_is_directory(const char *path);
/// mkdir(2); an existing directory counts as success. Returns 0 or -1 with errno.
int kinglet_make_directory(const char *path, unsigned int mode);
/// The size of an open file, or -1 with errno.
int64_t kinglet_file_size(int fd);
/// The inode number of a path (following symlinks) or of an open descriptor. Returns 0 or
/// -1 with errno.
int kinglet_path_inode(const char *path, uint64_t *inode);
int kinglet_fd_inode(int fd, uint64_t *inode);

#endif
