// Background syncs: the cache's msyncs and the image store's fsyncs (see kinglet_flusher.h).
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
    // A step list (kinglet_flusher_submit_steps) instead of an msync, when not NULL.
    char *steps;
    size_t steps_length;
    size_t failed_step;
};

static int run_step(char operation, const char *path, const char *second) {
    switch (operation) {
    case KINGLET_SYNC_FSYNC:
    case KINGLET_SYNC_SYNCFS: {
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) return -1;
        int result = operation == KINGLET_SYNC_FSYNC ? fsync(fd) : syncfs(fd);
        int saved = errno;
        close(fd);
        errno = saved;
        return result;
    }
    case KINGLET_SYNC_RENAME:
        return rename(path, second);
    case KINGLET_SYNC_REMOVE:
        return kinglet_oci_remove_tree(path);
    default:
        errno = EINVAL;
        return -1;
    }
}

int kinglet_sync_steps_run(const char *steps, size_t length, size_t *failed_step) {
    size_t offset = 0, index = 0;
    while (offset < length) {
        char operation = steps[offset++];
        const char *path = steps + offset;
        size_t path_length = strnlen(path, length - offset);
        if (offset + path_length >= length) { *failed_step = index; return EINVAL; }
        offset += path_length + 1;
        const char *second = NULL;
        if (operation == KINGLET_SYNC_RENAME) {
            second = steps + offset;
            size_t second_length = strnlen(second, length - offset);
            if (offset + second_length >= length) { *failed_step = index; return EINVAL; }
            offset += second_length + 1;
        }
        if (run_step(operation, path, second) != 0) {
            *failed_step = index;
            return errno != 0 ? errno : EIO;
        }
        index++;
    }
    return 0;
}

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
            int error;
            if (flusher->steps != NULL) {
                error = kinglet_sync_steps_run(flusher->steps, flusher->steps_length, &flusher->failed_step);
            } else {
                error = kinglet_map_sync(flusher->base, start, end - start) == 0 ? 0 : errno;
            }
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
    // The thread only calls msync, fsync, syncfs, rename and unlink. Every signal stays with the loop's thread: signalfd only
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

// With the lock held and the job described: hands it to the thread, and unlocks.
static void arm_job(kinglet_flusher *flusher) {
    flusher->has_job = 1;
    flusher->job_done = 0;
    flusher->job_error = 0;
    pthread_cond_broadcast(&flusher->wake);
    pthread_mutex_unlock(&flusher->lock);
}

int kinglet_flusher_submit(kinglet_flusher *flusher, size_t start, size_t end) {
    pthread_mutex_lock(&flusher->lock);
    if (flusher->has_job) {
        pthread_mutex_unlock(&flusher->lock);
        errno = EBUSY;
        return -1;
    }
    flusher->start = start;
    flusher->end = end > start ? end : start + 1;
    flusher->steps = NULL;
    arm_job(flusher);
    return 0;
}

int kinglet_flusher_submit_steps(kinglet_flusher *flusher, const char *steps, size_t length) {
    char *copy = malloc(length > 0 ? length : 1);
    if (copy == NULL) {
        errno = ENOMEM;
        return -1;
    }
    memcpy(copy, steps, length);
    pthread_mutex_lock(&flusher->lock);
    if (flusher->has_job) {
        pthread_mutex_unlock(&flusher->lock);
        free(copy);
        errno = EBUSY;
        return -1;
    }
    flusher->steps = copy;
    flusher->steps_length = length;
    flusher->failed_step = 0;
    arm_job(flusher);
    return 0;
}

size_t kinglet_flusher_failed_step(kinglet_flusher *flusher) {
    pthread_mutex_lock(&flusher->lock);
    size_t step = flusher->failed_step;
    pthread_mutex_unlock(&flusher->lock);
    return step;
}

int kinglet_flusher_collect(kinglet_flusher *flusher, int *error) {
    pthread_mutex_lock(&flusher->lock);
    int done = flusher->has_job && flusher->job_done;
    if (done) {
        *error = flusher->job_error;
        flusher->has_job = 0;
        flusher->job_done = 0;
        free(flusher->steps);
        flusher->steps = NULL;
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
    free(flusher->steps);
    close(flusher->event_fd);
    pthread_mutex_destroy(&flusher->lock);
    pthread_cond_destroy(&flusher->wake);
    free(flusher);
}
