// The container keeper's sockets: SOCK_SEQPACKET (one message per send, descriptors
// passed with SCM_RIGHTS) and the facts it records about its children.
#define _GNU_SOURCE
#include "kinglet_system.h"

#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>

int kinglet_keeper_listen(const char *path) { return kinglet_unix_listen_typed(path, 0600, SOCK_SEQPACKET); }

int kinglet_keeper_accept(int listener) {
    return accept4(listener, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
}

int kinglet_keeper_connect(const char *path, int timeout_ms) {
    return kinglet_unix_connect_typed(path, timeout_ms, SOCK_SEQPACKET);
}

int64_t kinglet_keeper_peer_uid(int fd) {
    struct ucred credentials;
    socklen_t length = sizeof credentials;
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &credentials, &length) != 0) return -1;
    return (int64_t)credentials.uid;
}

ssize_t kinglet_keeper_send(int fd, const uint8_t *bytes, size_t length, const int *fds, int fd_count) {
    struct iovec part = { .iov_base = (void *)bytes, .iov_len = length };
    union {
        char buffer[CMSG_SPACE(sizeof(int) * KINGLET_KEEPER_MAX_FDS)];
        struct cmsghdr align;
    } control;
    struct msghdr message = { .msg_iov = &part, .msg_iovlen = 1 };
    if (fd_count > KINGLET_KEEPER_MAX_FDS) { errno = EINVAL; return -1; }
    if (fd_count > 0) {
        memset(&control, 0, sizeof control);
        message.msg_control = control.buffer;
        message.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)fd_count);
        struct cmsghdr *header = CMSG_FIRSTHDR(&message);
        header->cmsg_level = SOL_SOCKET;
        header->cmsg_type = SCM_RIGHTS;
        header->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)fd_count);
        memcpy(CMSG_DATA(header), fds, sizeof(int) * (size_t)fd_count);
    }
    return sendmsg(fd, &message, MSG_NOSIGNAL);
}

ssize_t kinglet_keeper_receive(int fd, uint8_t *bytes, size_t capacity, int *fds, int *fd_count) {
    struct iovec part = { .iov_base = bytes, .iov_len = capacity };
    union {
        char buffer[CMSG_SPACE(sizeof(int) * KINGLET_KEEPER_MAX_FDS)];
        struct cmsghdr align;
    } control;
    struct msghdr message = { .msg_iov = &part, .msg_iovlen = 1,
                               .msg_control = control.buffer, .msg_controllen = sizeof control.buffer };
    *fd_count = 0;
    ssize_t length = recvmsg(fd, &message, MSG_CMSG_CLOEXEC);
    if (length < 0) return -1;
    for (struct cmsghdr *header = CMSG_FIRSTHDR(&message); header; header = CMSG_NXTHDR(&message, header)) {
        if (header->cmsg_level != SOL_SOCKET || header->cmsg_type != SCM_RIGHTS) continue;
        int count = (int)((header->cmsg_len - CMSG_LEN(0)) / sizeof(int));
        int *received = (int *)CMSG_DATA(header);
        for (int i = 0; i < count; i++) {
            if (*fd_count < KINGLET_KEEPER_MAX_FDS) fds[(*fd_count)++] = received[i];
            else close(received[i]);
        }
    }
    if (message.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) {
        for (int i = 0; i < *fd_count; i++) close(fds[i]);
        *fd_count = 0;
        errno = EMSGSIZE;
        return -1;
    }
    return length;
}

uint64_t kinglet_process_start_ticks(pid_t pid) {
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 0;
    char text[1024];
    ssize_t length = read(fd, text, sizeof text - 1);
    close(fd);
    if (length <= 0) return 0;
    text[length] = '\0';
    // The command name (field 2) may hold spaces and ')': count fields after its last ')'.
    char *cursor = strrchr(text, ')');
    if (!cursor) return 0;
    cursor++;
    for (int field = 3; field <= 22; field++) {
        while (*cursor == ' ') cursor++;
        if (field == 22) return strtoull(cursor, NULL, 10);
        while (*cursor && *cursor != ' ') cursor++;
        if (!*cursor) return 0;
    }
    return 0;
}

int kinglet_spawn_detached(const char *path, char *const argv[], char *const envp[], int log_fd, pid_t *pid) {
    posix_spawnattr_t attributes;
    posix_spawn_file_actions_t actions;
    int error = posix_spawnattr_init(&attributes);
    if (error != 0) return error;
    sigset_t none, all;
    sigemptyset(&none);
    sigfillset(&all);
    short flags = POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF;
#ifdef POSIX_SPAWN_SETSID
    flags |= POSIX_SPAWN_SETSID;
#else
    flags |= POSIX_SPAWN_SETPGROUP;
#endif
    posix_spawnattr_setflags(&attributes, flags);
    posix_spawnattr_setsigmask(&attributes, &none);
    posix_spawnattr_setsigdefault(&attributes, &all);
    error = posix_spawn_file_actions_init(&actions);
    if (error == 0) {
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
        posix_spawn_file_actions_adddup2(&actions, log_fd, 1);
        posix_spawn_file_actions_adddup2(&actions, log_fd, 2);
        error = posix_spawn(pid, path, &actions, &attributes, argv, envp);
        posix_spawn_file_actions_destroy(&actions);
    }
    posix_spawnattr_destroy(&attributes);
    return error;
}

void kinglet_keeper_raise_descriptor_limit(void) {
    // Two descriptors per container; containers inherit the soft limit, so it stays modest.
    struct rlimit limit;
    if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < 8192 && limit.rlim_cur < limit.rlim_max) {
        limit.rlim_cur = limit.rlim_max < 8192 ? limit.rlim_max : 8192;
        setrlimit(RLIMIT_NOFILE, &limit);
    }
}

int kinglet_dup_cloexec(int fd) { return fcntl(fd, F_DUPFD_CLOEXEC, 3); }

int kinglet_keeper_wait_readable(int fd, int timeout_ms) {
    struct pollfd item = { .fd = fd, .events = POLLIN };
    int ready = poll(&item, 1, timeout_ms);
    return ready < 0 ? -1 : ready;
}

int kinglet_self_executable(char *buffer, size_t capacity) {
    ssize_t length = readlink("/proc/self/exe", buffer, capacity - 1);
    if (length < 0) return -1;
    buffer[length] = '\0';
    return 0;
}
