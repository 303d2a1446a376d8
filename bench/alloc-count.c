/* bench/alloc-count.c: counts a process's heap allocations, for bench/run's device bench.
 *
 * LD_PRELOAD'ed into the host build of the agent (the static musl binary cannot preload).
 * It replaces malloc, calloc, realloc, free and the aligned allocators with wrappers that
 * count the call and pass it to glibc's own entry points (__libc_malloc and friends, so no
 * dlsym bootstrap is needed: dlsym itself allocates).
 *
 * The counts live in a file mapped shared (KINGLET_ALLOC_COUNT_FILE), so the bench reads them
 * at any moment without a signal or a thread in the agent. The first process that maps the
 * file claims it with its pid; any other process that inherits LD_PRELOAD (a container, a
 * helper) counts nothing. With KINGLET_ALLOC_SITES=1 each allocation's call stack (the
 * SITE_FRAMES return addresses above the wrapper, by glibc's backtrace) is counted too, in an
 * open-addressed table of SITE_SLOTS stacks; the bench resolves the addresses with
 * /proc/<pid>/maps and addr2line.
 *
 * Build: cc -O2 -shared -fPIC -o alloc-count.so bench/alloc-count.c
 */
#define _GNU_SOURCE
#include <execinfo.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);
extern void __libc_free(void *);

#define SITE_FRAMES 16
#define SITE_SLOTS 4096

/* The file's layout; bench/run reads it (ALLOC_HEADER, ALLOC_SITE): keep them in step. */
struct site {
    uint64_t hash;
    uint64_t count;
    uint64_t frames[SITE_FRAMES];
};

struct counts {
    char magic[8]; /* "KALLOC1\0" */
    uint64_t pid;
    uint64_t mallocs, callocs, reallocs, aligned, frees, unrecorded_sites;
    struct site sites[SITE_SLOTS];
};

static struct counts *counts;
static int recording_sites;
static __thread int inside; /* a backtrace that allocates must not recurse */

static void forget_in_child(void) { counts = NULL; }

__attribute__((constructor)) static void alloc_count_open(void) {
    const char *path = getenv("KINGLET_ALLOC_COUNT_FILE");
    if (path == NULL) return;
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) return;
    if (ftruncate(fd, sizeof(struct counts)) != 0) { close(fd); return; }
    struct counts *mapped = mmap(NULL, sizeof(struct counts), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    if (mapped == MAP_FAILED) return;
    uint64_t unclaimed = 0;
    if (!__atomic_compare_exchange_n(&mapped->pid, &unclaimed, (uint64_t)getpid(), 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)) {
        munmap(mapped, sizeof(struct counts));
        return;
    }
    memcpy(mapped->magic, "KALLOC1", 8);
    const char *sites = getenv("KINGLET_ALLOC_SITES");
    recording_sites = sites != NULL && sites[0] == '1';
    if (recording_sites) {
        /* The first backtrace loads libgcc_s (and allocates): do it now, not mid-count. */
        void *warm[4];
        inside = 1;
        backtrace(warm, 4);
        inside = 0;
    }
    pthread_atfork(NULL, NULL, forget_in_child);
    counts = mapped;
}

static void record_site(void) {
    void *frames[SITE_FRAMES + 2];
    inside = 1;
    int depth = backtrace(frames, SITE_FRAMES + 2);
    inside = 0;
    /* frames[0] is record_site's caller in this file, frames[1] the allocator wrapper. */
    uint64_t stack[SITE_FRAMES] = {0};
    uint64_t hash = 1469598103934665603ull;
    for (int i = 2; i < depth && i - 2 < SITE_FRAMES; i++) {
        stack[i - 2] = (uint64_t)(uintptr_t)frames[i];
        hash = (hash ^ stack[i - 2]) * 1099511628211ull;
    }
    if (hash == 0) hash = 1;
    for (unsigned probe = 0; probe < 64; probe++) {
        struct site *slot = &counts->sites[(hash + probe) % SITE_SLOTS];
        uint64_t seen = __atomic_load_n(&slot->hash, __ATOMIC_ACQUIRE);
        if (seen == 0) {
            uint64_t expected = 0;
            if (__atomic_compare_exchange_n(&slot->hash, &expected, hash, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
                memcpy(slot->frames, stack, sizeof stack);
                seen = hash;
            } else {
                seen = expected;
            }
        }
        if (seen == hash) {
            __atomic_fetch_add(&slot->count, 1, __ATOMIC_RELAXED);
            return;
        }
    }
    __atomic_fetch_add(&counts->unrecorded_sites, 1, __ATOMIC_RELAXED);
}

static inline void count(uint64_t *counter) {
    if (counts == NULL || inside) return;
    __atomic_fetch_add(counter, 1, __ATOMIC_RELAXED);
    if (recording_sites) record_site();
}

void *malloc(size_t size) {
    if (counts) count(&counts->mallocs);
    return __libc_malloc(size);
}

void *calloc(size_t n, size_t size) {
    if (counts) count(&counts->callocs);
    return __libc_calloc(n, size);
}

void *realloc(void *old, size_t size) {
    if (counts) count(&counts->reallocs);
    return __libc_realloc(old, size);
}

void *reallocarray(void *old, size_t n, size_t size) {
    if (counts) count(&counts->reallocs);
    size_t bytes;
    if (__builtin_mul_overflow(n, size, &bytes)) return NULL;
    return __libc_realloc(old, bytes);
}

void free(void *pointer) {
    if (counts && pointer && !inside) __atomic_fetch_add(&counts->frees, 1, __ATOMIC_RELAXED);
    __libc_free(pointer);
}

void *memalign(size_t alignment, size_t size) {
    if (counts) count(&counts->aligned);
    return __libc_memalign(alignment, size);
}

void *aligned_alloc(size_t alignment, size_t size) {
    if (counts) count(&counts->aligned);
    return __libc_memalign(alignment, size);
}

int posix_memalign(void **out, size_t alignment, size_t size) {
    if (alignment < sizeof(void *) || (alignment & (alignment - 1)) != 0) return 22; /* EINVAL */
    if (counts) count(&counts->aligned);
    void *pointer = __libc_memalign(alignment, size);
    if (pointer == NULL) return 12; /* ENOMEM */
    *out = pointer;
    return 0;
}

void *valloc(size_t size) {
    if (counts) count(&counts->aligned);
    return __libc_memalign((size_t)sysconf(_SC_PAGESIZE), size);
}

void *pvalloc(size_t size) {
    if (counts) count(&counts->aligned);
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    return __libc_memalign(page, (size + page - 1) & ~(page - 1));
}
