// Declarations for the cache's background syncs: msync off the event loop.
#ifndef KINGLET_FLUSHER_H
#define KINGLET_FLUSHER_H

#include <stddef.h>
#include <stdint.h>

/// One thread that msyncs byte ranges of a shared mapping, one job at a time, and reports
/// each finished job on an eventfd the event loop watches. The loop never waits on storage:
/// it submits a job and goes on; the thread takes the time the disk takes.
typedef struct kinglet_flusher kinglet_flusher;

/// Starts the thread for the mapping at `base`. `delay_us` > 0 sleeps that long before every
/// msync (fault injection: a slow SD card). Returns NULL with errno on failure.
kinglet_flusher *kinglet_flusher_start(void *base, uint32_t delay_us);
/// The eventfd (non-blocking, close-on-exec) that becomes readable when a job has finished.
int kinglet_flusher_fd(const kinglet_flusher *flusher);
/// Hands the thread one job: msync(MS_SYNC) of [start, end) of the mapping, widened to
/// whole pages. Only one job runs at a time: returns -1 with EBUSY while one is unfinished.
int kinglet_flusher_submit(kinglet_flusher *flusher, size_t start, size_t end);
/// Collects the finished job: 1 with *error set (0, or the errno of a failed msync), 0 when
/// it is still running. Drains the eventfd.
int kinglet_flusher_collect(kinglet_flusher *flusher, int *error);
/// Waits for the submitted job to finish and collects it like kinglet_flusher_collect:
/// returns 1 with *error set, or 0 when no job was submitted. For shutdown and tools only.
int kinglet_flusher_wait(kinglet_flusher *flusher, int *error);
/// Waits for the running job (if any) to finish, stops the thread and frees everything.
void kinglet_flusher_stop(kinglet_flusher *flusher);

#endif
