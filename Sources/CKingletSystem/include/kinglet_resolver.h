// Declarations for host name resolution off the event loop (the HTTP client's).
#ifndef KINGLET_RESOLVER_H
#define KINGLET_RESOLVER_H

#include <stdint.h>

/// One thread that resolves host names with getaddrinfo, one job at a time in the order
/// submitted, and reports finished jobs on an eventfd the event loop watches. getaddrinfo
/// blocks for as long as DNS takes; the loop submits a name and goes on.
typedef struct kinglet_resolver kinglet_resolver;

/// The most addresses one lookup reports, and the room for each as numeric text.
#define KINGLET_RESOLVER_MAX_ADDRESSES 8
#define KINGLET_RESOLVER_ADDRESS_SIZE 48

/// A finished lookup. `status` is 0 or getaddrinfo's EAI_* code (`system_error` holds errno
/// for EAI_SYSTEM); on success `count` numeric addresses (IPv4 dotted quads, IPv6 without
/// brackets), in getaddrinfo's order without duplicates, are read with
/// kinglet_resolved_address.
struct kinglet_resolved {
    uint64_t id;
    int status;
    int system_error;
    int count;
    char addresses[KINGLET_RESOLVER_MAX_ADDRESSES][KINGLET_RESOLVER_ADDRESS_SIZE];
};

/// Starts the thread (every signal blocked in it, a small stack). Returns NULL with errno.
kinglet_resolver *kinglet_resolver_start(void);
/// The eventfd (non-blocking, close-on-exec) that is readable while finished jobs wait.
int kinglet_resolver_fd(const kinglet_resolver *resolver);
/// Queues a lookup of `host` (TCP addresses, IPv4 and IPv6) under `id`. Returns 0, or -1
/// with errno: ENAMETOOLONG for a name over 255 bytes, ENOMEM.
int kinglet_resolver_submit(kinglet_resolver *resolver, uint64_t id, const char *host);
/// Takes one finished lookup into `*result`: 1 when one was taken, 0 when none is waiting
/// (the eventfd is then drained). Cancelled lookups never come out.
int kinglet_resolver_collect(kinglet_resolver *resolver, struct kinglet_resolved *result);
/// The `index`th address of a finished lookup, as NUL-terminated text.
const char *kinglet_resolved_address(const struct kinglet_resolved *result, int index);
/// What a failed lookup's status means (gai_strerror, or strerror for EAI_SYSTEM).
const char *kinglet_resolved_error_text(const struct kinglet_resolved *result);
/// Whether a failed lookup's status says the name does not exist (EAI_NONAME, EAI_NODATA)
/// rather than that resolution itself failed (no DNS server answered, EAI_AGAIN).
int kinglet_resolved_is_unknown_name(const struct kinglet_resolved *result);
/// Forgets the lookup `id`: dropped when queued or finished, its result discarded when it
/// is under way.
void kinglet_resolver_cancel(kinglet_resolver *resolver, uint64_t id);
/// Stops the thread without waiting for it: a lookup under way finishes on the thread
/// (getaddrinfo cannot be interrupted), which then frees everything and closes the eventfd.
/// Stop watching the eventfd first; the resolver must not be used afterwards.
void kinglet_resolver_stop(kinglet_resolver *resolver);

#endif
