// Declarations for background syncs: the cache's msyncs and the image store's fsyncs, off
// the event loop.
#ifndef KINGLET_FLUSHER_H
#define KINGLET_FLUSHER_H

#include <stddef.h>
#include <stdint.h>

/// One thread that msyncs byte ranges of a shared mapping, one job at a time, and reports
/// each finished job on an eventfd the event loop watches. The loop never waits on storage:
/// it submits a job and goes on; the thread takes the time the disk takes.
typedef struct kinglet_flusher kinglet_flusher;

/// Starts the thread for the mapping at `base` (NULL for a flusher that runs step lists only). `delay_us` > 0 sleeps that long before every
/// msync (fault injection: a slow SD card). Returns NULL with errno on failure.
kinglet_flusher *kinglet_flusher_start(void *base, uint32_t delay_us);
/// The eventfd (non-blocking, close-on-exec) that becomes readable when a job has finished.
int kinglet_flusher_fd(const kinglet_flusher *flusher);
/// Hands the thread one job: msync(MS_SYNC) of [start, end) of the mapping, widened to
/// whole pages. Only one job runs at a time: returns -1 with EBUSY while one is unfinished.
int kinglet_flusher_submit(kinglet_flusher *flusher, size_t start, size_t end);
/// What a step list can ask (kinglet_flusher_submit_steps): each step is the operation's
/// byte, then a NUL-terminated path (a rename: two, from and to).
enum {
    /// fsync(2) of a file or folder (a folder: the entries created or renamed in it).
    KINGLET_SYNC_FSYNC = 'f',
    /// syncfs(2) of the file system holding the path: every file and folder written there
    /// (one journal commit, where an fsync per file would cost one each).
    KINGLET_SYNC_SYNCFS = 's',
    /// rename(2) from the first path to the second.
    KINGLET_SYNC_RENAME = 'r',
    /// kinglet_oci_remove_tree: the path and everything below it, within its file system.
    KINGLET_SYNC_REMOVE = 'd',
};
/// Hands the thread a step list (copied), run in order until one fails. EBUSY while a job
/// is unfinished, as kinglet_flusher_submit.
int kinglet_flusher_submit_steps(kinglet_flusher *flusher, const char *steps, size_t length);
/// The index of the step that failed in the last collected step list.
size_t kinglet_flusher_failed_step(kinglet_flusher *flusher);
/// Runs a step list on the calling thread (tools and tests without a loop). Returns 0, or
/// the errno of the failed step with its index in *failed_step.
int kinglet_sync_steps_run(const char *steps, size_t length, size_t *failed_step);
/// Collects the finished job: 1 with *error set (0, or the errno of a failed msync), 0 when
/// it is still running. Drains the eventfd.
int kinglet_flusher_collect(kinglet_flusher *flusher, int *error);
/// Waits for the submitted job to finish and collects it like kinglet_flusher_collect:
/// returns 1 with *error set, or 0 when no job was submitted. For shutdown and tools only.
int kinglet_flusher_wait(kinglet_flusher *flusher, int *error);
/// Waits for the running job (if any) to finish, stops the thread and frees everything.
void kinglet_flusher_stop(kinglet_flusher *flusher);

#endif
