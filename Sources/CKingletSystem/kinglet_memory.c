// The agent's own memory footprint.
#define _GNU_SOURCE
#include "kinglet_system.h"

#include <link.h>

static int advise_segments(struct dl_phdr_info *info, size_t size, void *data) {
    (void)size;
    int *advised = data;
    // The first object reported is the program itself (static or not); stop after it.
    size_t page = kinglet_map_page_size();
    for (int index = 0; index < info->dlpi_phnum; index++) {
        const ElfW(Phdr) *segment = &info->dlpi_phdr[index];
        if (segment->p_type != PT_LOAD || (segment->p_flags & PF_W)) continue;
        uintptr_t start = (uintptr_t)info->dlpi_addr + segment->p_vaddr;
        uintptr_t end = start + segment->p_memsz;
        start -= start % page;
        if (madvise((void *)start, end - start, MADV_RANDOM) != 0) {
            *advised = -1;
            return 1;
        }
        *advised += 1;
    }
    return 1;
}

int kinglet_advise_program_random(void) {
    int advised = 0;
    dl_iterate_phdr(advise_segments, &advised);
    return advised;
}
