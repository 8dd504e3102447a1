/*
 * Allocation counter for the benchmarks, loaded into the agent with LD_PRELOAD (the firmware
 * links glibc dynamically). Counts malloc, calloc, realloc, the aligned allocators and free per
 * thread, and writes one line per thread:
 *
 *   <tid> <thread name> <allocations> <frees>
 *
 * to $MALLOC_COUNT_OUT (written to a temporary file, then renamed) every time a byte is written
 * to the FIFO $MALLOC_COUNT_TRIGGER, and once more at exit. A benchmark takes one snapshot at
 * each end of its window and divides the difference by the cycles or messages in between.
 *
 * The thread name is what the thread set with prctl(PR_SET_NAME) / pthread_setname_np: read
 * from /proc/self/task/<tid>/comm for a live thread, or the name last seen by the thread itself
 * (refreshed on its first call and every 4096th) for one that has ended.
 *
 * Built by Deploy/bench-throughput.sh:  gcc -O2 -shared -fPIC -o malloc_count.so malloc_count.c
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t count, size_t size);
extern void *__libc_realloc(void *pointer, size_t size);
extern void *__libc_memalign(size_t alignment, size_t size);
extern void __libc_free(void *pointer);

#define MAX_THREADS 512

struct thread_counts {
    _Atomic int tid; /* 0: free slot */
    _Atomic unsigned long allocations;
    _Atomic unsigned long frees;
    char name[16];
};

static struct thread_counts table[MAX_THREADS];
static _Atomic int used_slots;
static _Atomic unsigned long overflow_allocations; /* threads beyond MAX_THREADS */
static __thread struct thread_counts *mine __attribute__((tls_model("initial-exec")));
static __thread int inside __attribute__((tls_model("initial-exec")));

static struct thread_counts *slot(void) {
    if (mine) return mine;
    int index = atomic_fetch_add(&used_slots, 1);
    if (index >= MAX_THREADS) return NULL;
    mine = &table[index];
    prctl(PR_GET_NAME, mine->name, 0, 0, 0);
    atomic_store(&mine->tid, (int)syscall(SYS_gettid));
    return mine;
}

static inline void count(int is_free) {
    if (inside) return; /* our own dump's stdio calls are not the program's */
    struct thread_counts *counts = slot();
    if (!counts) {
        if (!is_free) atomic_fetch_add_explicit(&overflow_allocations, 1, memory_order_relaxed);
        return;
    }
    if (is_free) {
        atomic_fetch_add_explicit(&counts->frees, 1, memory_order_relaxed);
        return;
    }
    unsigned long n = atomic_fetch_add_explicit(&counts->allocations, 1, memory_order_relaxed);
    if ((n & 4095) == 0) prctl(PR_GET_NAME, counts->name, 0, 0, 0);
}

void *malloc(size_t size) { count(0); return __libc_malloc(size); }
void *calloc(size_t n, size_t size) { count(0); return __libc_calloc(n, size); }
void *realloc(void *pointer, size_t size) { count(0); return __libc_realloc(pointer, size); }
void free(void *pointer) { if (pointer) count(1); __libc_free(pointer); }
void *memalign(size_t alignment, size_t size) { count(0); return __libc_memalign(alignment, size); }
void *aligned_alloc(size_t alignment, size_t size) { count(0); return __libc_memalign(alignment, size); }
int posix_memalign(void **result, size_t alignment, size_t size) {
    count(0);
    void *pointer = __libc_memalign(alignment, size);
    if (!pointer) return ENOMEM;
    *result = pointer;
    return 0;
}

static void dump(void) {
    const char *out = getenv("MALLOC_COUNT_OUT");
    if (!out) return;
    inside = 1;
    char temporary[4096];
    snprintf(temporary, sizeof temporary, "%s.tmp", out);
    FILE *file = fopen(temporary, "w");
    if (file) {
        int slots = atomic_load(&used_slots);
        if (slots > MAX_THREADS) slots = MAX_THREADS;
        for (int i = 0; i < slots; i++) {
            int tid = atomic_load(&table[i].tid);
            if (!tid) continue;
            char name[16], path[64];
            memcpy(name, table[i].name, sizeof name);
            name[15] = 0;
            snprintf(path, sizeof path, "/proc/self/task/%d/comm", tid);
            int fd = open(path, O_RDONLY);
            if (fd >= 0) {
                ssize_t n = read(fd, name, sizeof name - 1);
                close(fd);
                if (n > 0) name[n - (name[n - 1] == '\n' ? 1 : 0)] = 0;
            }
            for (char *c = name; *c; c++) if (*c == ' ') *c = '_';
            fprintf(file, "%d %s %lu %lu\n", tid, name[0] ? name : "?", atomic_load(&table[i].allocations),
                    atomic_load(&table[i].frees));
        }
        fprintf(file, "0 (overflow) %lu 0\n", atomic_load(&overflow_allocations));
        fclose(file);
        rename(temporary, out);
    }
    inside = 0;
}

/* Blocks on the trigger FIFO: one snapshot per byte written to it. */
static void *dumper(void *unused) {
    (void)unused;
    inside = 1;
    prctl(PR_SET_NAME, "malloc-count", 0, 0, 0);
    const char *trigger = getenv("MALLOC_COUNT_TRIGGER");
    /* O_RDWR: the FIFO never reports end-of-file when the benchmark closes its end. */
    int fd = open(trigger, O_RDWR);
    inside = 0;
    if (fd < 0) return NULL;
    char byte;
    while (read(fd, &byte, 1) == 1 || errno == EINTR) dump();
    return NULL;
}

__attribute__((constructor)) static void start(void) {
    if (getenv("MALLOC_COUNT_TRIGGER")) {
        pthread_t thread;
        pthread_attr_t attributes;
        pthread_attr_init(&attributes);
        pthread_attr_setstacksize(&attributes, 64 * 1024);
        if (pthread_create(&thread, &attributes, dumper, NULL) == 0) pthread_detach(thread);
        pthread_attr_destroy(&attributes);
    }
}

__attribute__((destructor)) static void finish(void) { dump(); }
