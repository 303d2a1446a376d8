// Host name resolution off the event loop (see kinglet_resolver.h).
#define _GNU_SOURCE
#include "kinglet_system.h"

#include <netdb.h>
#include <pthread.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/eventfd.h>
#include <sys/socket.h>

struct resolver_job {
    struct resolver_job *next;
    char host[256];
    struct kinglet_resolved result;
};

struct kinglet_resolver {
    pthread_mutex_t lock;
    pthread_cond_t wake;
    int event_fd;
    // Guarded by `lock`.
    struct resolver_job *queued, *queued_tail;
    struct resolver_job *done, *done_tail;
    uint64_t running_id;
    int running;            // a lookup is under way on the thread
    int running_cancelled;  // ... and its result is to be dropped
    int stopping;
};

static void free_jobs(struct resolver_job *job) {
    while (job) {
        struct resolver_job *next = job->next;
        free(job);
        job = next;
    }
}

static void lookup(struct resolver_job *job) {
    struct kinglet_resolved *result = &job->result;
    struct addrinfo hints;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_protocol = IPPROTO_TCP;
    // No AI_ADDRCONFIG: glibc ignores loopback addresses for it, so on a board (or in a
    // container) with only loopback "localhost" would not resolve. An address of a family
    // the host cannot reach fails its connect at once and the next one is tried.
    struct addrinfo *list = NULL;
    int status = getaddrinfo(job->host, NULL, &hints, &list);
    result->status = status;
    result->system_error = status == EAI_SYSTEM ? errno : 0;
    result->count = 0;
    if (status != 0) return;
    for (struct addrinfo *entry = list; entry && result->count < KINGLET_RESOLVER_MAX_ADDRESSES; entry = entry->ai_next) {
        char text[KINGLET_RESOLVER_ADDRESS_SIZE];
        const void *address;
        if (entry->ai_family == AF_INET) {
            address = &((const struct sockaddr_in *)entry->ai_addr)->sin_addr;
        } else if (entry->ai_family == AF_INET6) {
            const struct sockaddr_in6 *v6 = (const struct sockaddr_in6 *)entry->ai_addr;
            if (v6->sin6_scope_id != 0) continue;  // link-local with a zone: not connectable by text
            address = &v6->sin6_addr;
        } else {
            continue;
        }
        if (!inet_ntop(entry->ai_family, address, text, sizeof text)) continue;
        int seen = 0;
        for (int index = 0; index < result->count; index++) {
            if (strcmp(result->addresses[index], text) == 0) seen = 1;
        }
        if (seen) continue;
        memcpy(result->addresses[result->count], text, sizeof text);
        result->count++;
    }
    freeaddrinfo(list);
    if (result->count == 0) {
        result->status = EAI_NONAME;
    }
}

static void destroy(kinglet_resolver *resolver) {
    free_jobs(resolver->queued);
    free_jobs(resolver->done);
    close(resolver->event_fd);
    pthread_mutex_destroy(&resolver->lock);
    pthread_cond_destroy(&resolver->wake);
    free(resolver);
}

static void *resolver_main(void *argument) {
    kinglet_resolver *resolver = argument;
    pthread_mutex_lock(&resolver->lock);
    for (;;) {
        while (!resolver->stopping && !resolver->queued) pthread_cond_wait(&resolver->wake, &resolver->lock);
        if (resolver->stopping) break;
        struct resolver_job *job = resolver->queued;
        resolver->queued = job->next;
        if (!resolver->queued) resolver->queued_tail = NULL;
        job->next = NULL;
        resolver->running = 1;
        resolver->running_id = job->result.id;
        resolver->running_cancelled = 0;
        pthread_mutex_unlock(&resolver->lock);

        lookup(job);

        pthread_mutex_lock(&resolver->lock);
        resolver->running = 0;
        if (resolver->running_cancelled || resolver->stopping) {
            free(job);
            continue;
        }
        if (resolver->done_tail) resolver->done_tail->next = job; else resolver->done = job;
        resolver->done_tail = job;
        uint64_t one = 1;
        (void)!write(resolver->event_fd, &one, sizeof one);
    }
    pthread_mutex_unlock(&resolver->lock);
    // The loop's side let go in kinglet_resolver_stop: the thread frees what is left.
    destroy(resolver);
    return NULL;
}

kinglet_resolver *kinglet_resolver_start(void) {
    kinglet_resolver *resolver = calloc(1, sizeof *resolver);
    if (!resolver) return NULL;
    resolver->event_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (resolver->event_fd < 0) {
        int error = errno;
        free(resolver);
        errno = error;
        return NULL;
    }
    pthread_mutex_init(&resolver->lock, NULL);
    pthread_cond_init(&resolver->wake, NULL);
    // As for the flusher: every signal stays with the loop's thread (signalfd only sees a
    // signal blocked in every thread). A new thread inherits the creator's mask.
    sigset_t all, previous;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &previous);
    pthread_attr_t attributes;
    pthread_attr_init(&attributes);
    // getaddrinfo (glibc's NSS modules, DNS packets on the stack) wants more than the
    // flusher's 64 KiB; only the pages it touches become resident.
    pthread_attr_setstacksize(&attributes, 256 * 1024);
    pthread_attr_setdetachstate(&attributes, PTHREAD_CREATE_DETACHED);
    pthread_t thread;
    int started = pthread_create(&thread, &attributes, resolver_main, resolver);
    pthread_attr_destroy(&attributes);
    pthread_sigmask(SIG_SETMASK, &previous, NULL);
    if (started != 0) {
        close(resolver->event_fd);
        pthread_mutex_destroy(&resolver->lock);
        pthread_cond_destroy(&resolver->wake);
        free(resolver);
        errno = started;
        return NULL;
    }
    return resolver;
}

int kinglet_resolver_fd(const kinglet_resolver *resolver) { return resolver->event_fd; }

int kinglet_resolver_submit(kinglet_resolver *resolver, uint64_t id, const char *host) {
    size_t length = strlen(host);
    if (length == 0 || length >= sizeof ((struct resolver_job *)0)->host) {
        errno = length == 0 ? EINVAL : ENAMETOOLONG;
        return -1;
    }
    struct resolver_job *job = calloc(1, sizeof *job);
    if (!job) {
        errno = ENOMEM;
        return -1;
    }
    memcpy(job->host, host, length + 1);
    job->result.id = id;
    pthread_mutex_lock(&resolver->lock);
    if (resolver->queued_tail) resolver->queued_tail->next = job; else resolver->queued = job;
    resolver->queued_tail = job;
    pthread_cond_broadcast(&resolver->wake);
    pthread_mutex_unlock(&resolver->lock);
    return 0;
}

int kinglet_resolver_collect(kinglet_resolver *resolver, struct kinglet_resolved *result) {
    pthread_mutex_lock(&resolver->lock);
    struct resolver_job *job = resolver->done;
    if (job) {
        resolver->done = job->next;
        if (!resolver->done) resolver->done_tail = NULL;
    } else {
        // Drained only when nothing waits, under the lock the thread writes under: a
        // result finished after this read writes the counter again.
        uint64_t count;
        (void)!read(resolver->event_fd, &count, sizeof count);
    }
    pthread_mutex_unlock(&resolver->lock);
    if (!job) return 0;
    *result = job->result;
    free(job);
    return 1;
}

const char *kinglet_resolved_address(const struct kinglet_resolved *result, int index) {
    if (index < 0 || index >= result->count) return "";
    return result->addresses[index];
}

const char *kinglet_resolved_error_text(const struct kinglet_resolved *result) {
    if (result->status == EAI_SYSTEM) return kinglet_strerror(result->system_error);
    return gai_strerror(result->status);
}

int kinglet_resolved_is_unknown_name(const struct kinglet_resolved *result) {
    if (result->status == EAI_NONAME) return 1;
#ifdef EAI_NODATA
    if (result->status == EAI_NODATA) return 1;
#endif
    return 0;
}

void kinglet_resolver_cancel(kinglet_resolver *resolver, uint64_t id) {
    pthread_mutex_lock(&resolver->lock);
    if (resolver->running && resolver->running_id == id) resolver->running_cancelled = 1;
    struct resolver_job **lists[2] = {&resolver->queued, &resolver->done};
    struct resolver_job **tails[2] = {&resolver->queued_tail, &resolver->done_tail};
    for (int list = 0; list < 2; list++) {
        struct resolver_job *previous = NULL;
        for (struct resolver_job **link = lists[list]; *link;) {
            struct resolver_job *job = *link;
            if (job->result.id == id) {
                *link = job->next;
                if (*tails[list] == job) *tails[list] = previous;
                free(job);
            } else {
                previous = job;
                link = &job->next;
            }
        }
    }
    pthread_mutex_unlock(&resolver->lock);
}

void kinglet_resolver_stop(kinglet_resolver *resolver) {
    pthread_mutex_lock(&resolver->lock);
    resolver->stopping = 1;
    pthread_cond_broadcast(&resolver->wake);
    pthread_mutex_unlock(&resolver->lock);
}
