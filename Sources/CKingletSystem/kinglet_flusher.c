// The cache's background syncs (see kinglet_flusher.h).
#define _GNU_SOURCE
#include "kinglet_system.h"

#include <pthread.h>
#include <sys/eventfd.h>

struct kinglet_flusher {
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    char *base;
    uint32_t delay_us;
    int event_fd;
    // Guarded by `lock`.
    int has_job;      // a job was submitted and not yet collected
    int job_done;     // the thread finished it
    int job_error;
    int stopping;
    size_t start, end;
};

static void *flusher_main(void *argument) {
    kinglet_flusher *flusher = argument;
    pthread_mutex_lock(&flusher->lock);
    for (;;) {
        while (!flusher->stopping && !(flusher->has_job && !flusher->job_done)) {
            pthread_cond_wait(&flusher->wake, &flusher->lock);
        }
        if (flusher->has_job && !flusher->job_done) {
            size_t start = flusher->start, end = flusher->end;
            pthread_mutex_unlock(&flusher->lock);
            if (flusher->delay_us > 0) {
                struct timespec pause = {flusher->delay_us / 1000000, (long)(flusher->delay_us % 1000000) * 1000};
                while (nanosleep(&pause, &pause) != 0 && errno == EINTR) {}
            }
            int error = kinglet_map_sync(flusher->base, start, end - start) == 0 ? 0 : errno;
            pthread_mutex_lock(&flusher->lock);
            flusher->job_error = error;
            flusher->job_done = 1;
            uint64_t one = 1;
            // The counter cannot overflow: one job at a time, drained by collect.
            (void)!write(flusher->event_fd, &one, sizeof one);
            pthread_cond_broadcast(&flusher->wake);
            continue;
        }
        if (flusher->stopping) break;
    }
    pthread_mutex_unlock(&flusher->lock);
    return NULL;
}

kinglet_flusher *kinglet_flusher_start(void *base, uint32_t delay_us) {
    kinglet_flusher *flusher = calloc(1, sizeof *flusher);
    if (!flusher) return NULL;
    flusher->base = base;
    flusher->delay_us = delay_us;
    flusher->event_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (flusher->event_fd < 0) {
        free(flusher);
        return NULL;
    }
    pthread_mutex_init(&flusher->lock, NULL);
    pthread_cond_init(&flusher->wake, NULL);
    // The thread only calls msync. Every signal stays with the loop's thread: signalfd only
    // sees a signal blocked in every thread, and one delivered here would take its default
    // action (SIGTERM would kill the agent). A new thread inherits the creator's mask.
    sigset_t all, previous;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &previous);
    pthread_attr_t attributes;
    pthread_attr_init(&attributes);
    pthread_attr_setstacksize(&attributes, 64 * 1024);
    int started = pthread_create(&flusher->thread, &attributes, flusher_main, flusher);
    pthread_attr_destroy(&attributes);
    pthread_sigmask(SIG_SETMASK, &previous, NULL);
    if (started != 0) {
        close(flusher->event_fd);
        pthread_mutex_destroy(&flusher->lock);
        pthread_cond_destroy(&flusher->wake);
        free(flusher);
        errno = started;
        return NULL;
    }
    return flusher;
}

int kinglet_flusher_fd(const kinglet_flusher *flusher) { return flusher->event_fd; }

int kinglet_flusher_submit(kinglet_flusher *flusher, size_t start, size_t end) {
    pthread_mutex_lock(&flusher->lock);
    if (flusher->has_job) {
        pthread_mutex_unlock(&flusher->lock);
        errno = EBUSY;
        return -1;
    }
    flusher->start = start;
    flusher->end = end > start ? end : start + 1;
    flusher->has_job = 1;
    flusher->job_done = 0;
    flusher->job_error = 0;
    pthread_cond_broadcast(&flusher->wake);
    pthread_mutex_unlock(&flusher->lock);
    return 0;
}

int kinglet_flusher_collect(kinglet_flusher *flusher, int *error) {
    pthread_mutex_lock(&flusher->lock);
    int done = flusher->has_job && flusher->job_done;
    if (done) {
        *error = flusher->job_error;
        flusher->has_job = 0;
        flusher->job_done = 0;
        uint64_t count;
        (void)!read(flusher->event_fd, &count, sizeof count);
    }
    pthread_mutex_unlock(&flusher->lock);
    return done;
}

int kinglet_flusher_wait(kinglet_flusher *flusher, int *error) {
    pthread_mutex_lock(&flusher->lock);
    while (flusher->has_job && !flusher->job_done) pthread_cond_wait(&flusher->wake, &flusher->lock);
    pthread_mutex_unlock(&flusher->lock);
    return kinglet_flusher_collect(flusher, error);
}

void kinglet_flusher_stop(kinglet_flusher *flusher) {
    pthread_mutex_lock(&flusher->lock);
    while (flusher->has_job && !flusher->job_done) pthread_cond_wait(&flusher->wake, &flusher->lock);
    flusher->stopping = 1;
    pthread_cond_broadcast(&flusher->wake);
    pthread_mutex_unlock(&flusher->lock);
    pthread_join(flusher->thread, NULL);
    close(flusher->event_fd);
    pthread_mutex_destroy(&flusher->lock);
    pthread_cond_destroy(&flusher->wake);
    free(flusher);
}
