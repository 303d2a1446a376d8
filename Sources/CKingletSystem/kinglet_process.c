// Child processes: spawning containers, reaping, signalling, limits.
#define _GNU_SOURCE
#include "kinglet_system.h"

#include <sys/resource.h>

// Signals 1..31 are the standard ones on every Linux architecture we build for.
#define KINGLET_LAST_STANDARD_SIGNAL 31

// posix_spawn's dup2 file action does not clear FD_CLOEXEC when source and target are the
// same descriptor on older C libraries, and a pipe end below 3 would be overwritten by the
// other actions: move such a descriptor above 2 first.
static int above_standard_streams(int fd, int *moved) {
    *moved = -1;
    if (fd > 2) return fd;
    int copy = fcntl(fd, F_DUPFD_CLOEXEC, 3);
    if (copy < 0) return -1;
    *moved = copy;
    return copy;
}

static int build_attributes(posix_spawnattr_t *attributes) {
    int error = posix_spawnattr_init(attributes);
    if (error != 0) return error;
    sigset_t none, defaults;
    sigemptyset(&none);
    sigemptyset(&defaults);
    for (int signal = 1; signal <= KINGLET_LAST_STANDARD_SIGNAL; signal++) {
        if (signal != SIGKILL && signal != SIGSTOP) sigaddset(&defaults, signal);
    }
    short flags = POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF;
    if ((error = posix_spawnattr_setflags(attributes, flags)) != 0 ||
        (error = posix_spawnattr_setpgroup(attributes, 0)) != 0 ||
        (error = posix_spawnattr_setsigmask(attributes, &none)) != 0 ||
        (error = posix_spawnattr_setsigdefault(attributes, &defaults)) != 0) {
        posix_spawnattr_destroy(attributes);
    }
    return error;
}

static int build_file_actions(posix_spawn_file_actions_t *actions, const char *working_directory,
                              int stdout_fd, int stderr_fd) {
    int error = posix_spawn_file_actions_init(actions);
    if (error != 0) return error;
    if ((error = posix_spawn_file_actions_addopen(actions, 0, "/dev/null", O_RDONLY, 0)) != 0 ||
        (error = posix_spawn_file_actions_adddup2(actions, stdout_fd, 1)) != 0 ||
        (error = posix_spawn_file_actions_adddup2(actions, stderr_fd, 2)) != 0 ||
        (working_directory != NULL &&
         (error = posix_spawn_file_actions_addchdir_np(actions, working_directory)) != 0)) {
        posix_spawn_file_actions_destroy(actions);
    }
    return error;
}

int kinglet_spawn(const char *path, char *const argv[], char *const envp[],
                  const char *working_directory, int stdout_fd, int stderr_fd, pid_t *pid) {
    int moved_out, moved_err;
    int out = above_standard_streams(stdout_fd, &moved_out);
    if (out < 0) return errno;
    int err = above_standard_streams(stderr_fd, &moved_err);
    if (err < 0) {
        int error = errno;
        if (moved_out >= 0) close(moved_out);
        return error;
    }
    posix_spawnattr_t attributes;
    posix_spawn_file_actions_t actions;
    int error = build_attributes(&attributes);
    if (error == 0) {
        error = build_file_actions(&actions, working_directory, out, err);
        if (error == 0) {
            error = posix_spawn(pid, path, &actions, &attributes, argv, envp);
            posix_spawn_file_actions_destroy(&actions);
        }
        posix_spawnattr_destroy(&attributes);
    }
    if (moved_out >= 0) close(moved_out);
    if (moved_err >= 0) close(moved_err);
    return error;
}

int kinglet_child_peek(pid_t pid, struct kinglet_child_exit *result) {
    siginfo_t info;
    memset(&info, 0, sizeof info);
    memset(result, 0, sizeof *result);
    idtype_t type = pid < 0 ? P_ALL : P_PID;
    id_t id = pid < 0 ? 0 : (id_t)pid;
    if (waitid(type, id, &info, WEXITED | WNOHANG | WNOWAIT) != 0) {
        return errno == ECHILD ? 0 : -1;
    }
    // With WNOHANG and no exited child, waitid succeeds and leaves si_pid zero.
    if (info.si_pid == 0) return 0;
    result->pid = info.si_pid;
    result->exited = info.si_code == CLD_EXITED;
    result->code = info.si_status;
    result->core_dumped = info.si_code == CLD_DUMPED;
    return 1;
}

pid_t kinglet_child_reap(pid_t pid) {
    int status;
    pid_t reaped;
    do {
        reaped = waitpid(pid, &status, WNOHANG);
    } while (reaped < 0 && errno == EINTR);
    return reaped;
}

int kinglet_kill_group(pid_t pgid, int signal) {
    if (pgid <= 1) { errno = EINVAL; return -1; } // never kill(0) or kill(-1): every process
    return kill(-pgid, signal);
}

const char *kinglet_signal_name(int signal) {
    switch (signal) {
    case SIGHUP: return "SIGHUP";
    case SIGINT: return "SIGINT";
    case SIGQUIT: return "SIGQUIT";
    case SIGILL: return "SIGILL";
    case SIGTRAP: return "SIGTRAP";
    case SIGABRT: return "SIGABRT";
    case SIGBUS: return "SIGBUS";
    case SIGFPE: return "SIGFPE";
    case SIGKILL: return "SIGKILL";
    case SIGUSR1: return "SIGUSR1";
    case SIGSEGV: return "SIGSEGV";
    case SIGUSR2: return "SIGUSR2";
    case SIGPIPE: return "SIGPIPE";
    case SIGALRM: return "SIGALRM";
    case SIGTERM: return "SIGTERM";
    case SIGCHLD: return "SIGCHLD";
    case SIGCONT: return "SIGCONT";
    case SIGSTOP: return "SIGSTOP";
    case SIGTSTP: return "SIGTSTP";
    case SIGTTIN: return "SIGTTIN";
    case SIGTTOU: return "SIGTTOU";
    case SIGXCPU: return "SIGXCPU";
    case SIGXFSZ: return "SIGXFSZ";
    case SIGSYS: return "SIGSYS";
    default: return NULL;
    }
}

int kinglet_limit_address_space(pid_t pid, int64_t bytes) {
    struct rlimit limit;
    limit.rlim_cur = (rlim_t)bytes;
    limit.rlim_max = (rlim_t)bytes;
    return prlimit(pid, RLIMIT_AS, &limit, NULL);
}

int kinglet_is_executable_file(const char *path) {
    struct stat info;
    if (stat(path, &info) != 0) return 0;
    return S_ISREG(info.st_mode) && access(path, X_OK) == 0;
}

int kinglet_is_directory(const char *path) {
    struct stat info;
    if (stat(path, &info) != 0) return 0;
    if (!S_ISDIR(info.st_mode)) { errno = ENOTDIR; return 0; }
    return 1;
}

int kinglet_make_directory(const char *path, unsigned int mode) {
    if (mkdir(path, (mode_t)mode) == 0) return 0;
    if (errno == EEXIST && kinglet_is_directory(path)) return 0;
    return -1;
}

int64_t kinglet_file_size(int fd) {
    struct stat info;
    if (fstat(fd, &info) != 0) return -1;
    return (int64_t)info.st_size;
}

int kinglet_path_inode(const char *path, uint64_t *inode) {
    struct stat info;
    if (stat(path, &info) != 0) return -1;
    *inode = (uint64_t)info.st_ino;
    return 0;
}

int kinglet_fd_inode(int fd, uint64_t *inode) {
    struct stat info;
    if (fstat(fd, &info) != 0) return -1;
    *inode = (uint64_t)info.st_ino;
    return 0;
}
