#define _GNU_SOURCE
#include "AllocationCounter.h"
#include <errno.h>
#include <stddef.h>

// Under AddressSanitizer or ThreadSanitizer the sanitizer's runtime must own malloc: an
// interposer here would win over its (weak) interceptors, hide every heap access from it and
// count the sanitizer's own bookkeeping. So the counter steps aside and says so.
#if defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define ALLOCATION_COUNTER_UNDER_SANITIZER 1
#endif
#endif

#ifdef ALLOCATION_COUNTER_UNDER_SANITIZER

int allocation_counter_is_interposed(void) { return 0; }
void allocation_counter_start(void) {}
unsigned long allocation_counter_stop(void) { return 0; }
unsigned long allocation_counter_read(void) { return 0; }

#else

int allocation_counter_is_interposed(void) { return 1; }

// glibc's own entry points, which the interposers forward to.
extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t count, size_t size);
extern void *__libc_realloc(void *pointer, size_t size);
extern void *__libc_memalign(size_t alignment, size_t size);
extern void __libc_free(void *pointer);

// Initial-exec TLS in the executable: reading it never allocates.
static __thread int counting;
static __thread unsigned long allocations;

// A place to put a debugger breakpoint to see who allocates while counting.
__attribute__((noinline)) void allocation_counter_counted(void) { __asm__ volatile(""); }

static inline void note(void) {
    if (counting) {
        allocations++;
        allocation_counter_counted();
    }
}

void *malloc(size_t size) { note(); return __libc_malloc(size); }
void *calloc(size_t count, size_t size) { note(); return __libc_calloc(count, size); }
void *realloc(void *pointer, size_t size) { note(); return __libc_realloc(pointer, size); }
void free(void *pointer) { __libc_free(pointer); }
void *memalign(size_t alignment, size_t size) { note(); return __libc_memalign(alignment, size); }
void *aligned_alloc(size_t alignment, size_t size) { note(); return __libc_memalign(alignment, size); }

int posix_memalign(void **result, size_t alignment, size_t size) {
    note();
    void *pointer = __libc_memalign(alignment, size);
    if (pointer == NULL) return ENOMEM;
    *result = pointer;
    return 0;
}

void allocation_counter_start(void) {
    allocations = 0;
    counting = 1;
}

unsigned long allocation_counter_stop(void) {
    counting = 0;
    return allocations;
}

unsigned long allocation_counter_read(void) { return allocations; }

#endif
