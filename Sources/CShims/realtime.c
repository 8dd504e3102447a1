#define _GNU_SOURCE
#include "CShims.h"
#include <sched.h>
#include <sys/mman.h>
#include <signal.h>
#include <malloc.h>
#include <link.h>
#include <unistd.h>

int bedside_set_realtime(int priority) {
    struct sched_param param;
    memset(&param, 0, sizeof param);
    param.sched_priority = priority;
    return pthread_setschedparam(pthread_self(), SCHED_FIFO, &param);
}

int bedside_set_cpu_affinity(int cpu) {
    if (cpu < 0) return 0;
    if (cpu >= CPU_SETSIZE) return EINVAL;
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    return pthread_setaffinity_np(pthread_self(), sizeof set, &set);
}

// Locks every page of the program's own segments (code, constants, data), populating them.
// Under MCL_ONFAULT a page is locked only once touched, so code the alarm path has not run
// yet (a first escalation, a first acknowledgement) could still have to be read from storage
// at the moment it is needed. The program is about 1.2 MiB and, through the kernel's
// fault-around, already almost all resident after start-up, so this costs next to nothing.
static int lock_program_segments(struct dl_phdr_info *info, size_t size, void *failure) {
    (void)size;
    uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    for (int index = 0; index < info->dlpi_phnum; index++) {
        const ElfW(Phdr) *segment = &info->dlpi_phdr[index];
        if (segment->p_type != PT_LOAD) continue;
        uintptr_t start = (info->dlpi_addr + segment->p_vaddr) & ~(page - 1);
        uintptr_t end = (info->dlpi_addr + segment->p_vaddr + segment->p_memsz + page - 1) & ~(page - 1);
        if (mlock((void *)start, end - start) != 0 && *(int *)failure == 0) *(int *)failure = errno;
    }
    return 1; // the first object dl_iterate_phdr visits is the program; the libraries are not locked whole
}

int bedside_lock_memory(void) {
    // MCL_ONFAULT (Linux 4.4) locks pages as they are first touched instead of committing
    // every mapping up front: without it every library would be resident and locked whole
    // (libcrypto's 4.5 MiB, for a broker connection that may not even use TLS) and each
    // thread's whole stack. Pages a loop uses are touched in its first cycles and stay.
    int flags = MCL_CURRENT | MCL_FUTURE;
    int failure = 0;
#ifdef MCL_ONFAULT
    if (mlockall(flags | MCL_ONFAULT) == 0) {
        dl_iterate_phdr(lock_program_segments, &failure);
        return failure;
    }
    if (errno != EINVAL) return errno;
#endif
    return mlockall(flags) == 0 ? 0 : errno;
}

// The agent's threads need little stack: the sampling loop is flat, and nothing recurses.
#define BEDSIDE_THREAD_STACK (256 * 1024)

int bedside_thread_start(pthread_t *thread, void *(*entry)(void *), void *context) {
    pthread_attr_t attributes;
    int result = pthread_attr_init(&attributes);
    if (result != 0) return result;
    size_t stack = BEDSIDE_THREAD_STACK;
    if (stack < (size_t)PTHREAD_STACK_MIN) stack = (size_t)PTHREAD_STACK_MIN;
    pthread_attr_setstacksize(&attributes, stack);
    result = pthread_create(thread, &attributes, entry, context);
    pthread_attr_destroy(&attributes);
    return result;
}

void bedside_limit_default_thread_stack(void) {
    // Threads the C libraries start (libmosquitto's network loop) get the same smaller stack.
    pthread_attr_t attributes;
    if (pthread_attr_init(&attributes) != 0) return;
    size_t stack = BEDSIDE_THREAD_STACK;
    if (stack < (size_t)PTHREAD_STACK_MIN) stack = (size_t)PTHREAD_STACK_MIN;
    if (pthread_attr_setstacksize(&attributes, stack) == 0) pthread_setattr_default_np(&attributes);
    pthread_attr_destroy(&attributes);
}

void *bedside_map_zeroed(size_t bytes) {
    void *pages = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return pages == MAP_FAILED ? NULL : pages;
}

void bedside_unmap(void *pages, size_t bytes) {
    if (pages != NULL) munmap(pages, bytes);
}

int bedside_limit_malloc_arenas(int arenas) {
    // glibc gives each thread that contends for malloc an arena of its own (up to 8 per
    // core), each reserving 64 MiB and keeping its freed chunks resident. The agent's threads
    // that allocate (publisher, libmosquitto's, the alarm thread) allocate little.
    return mallopt(M_ARENA_MAX, arenas);
}

void bedside_thread_set_name(const char *name) {
    char truncated[16];
    strncpy(truncated, name, sizeof truncated - 1);
    truncated[sizeof truncated - 1] = '\0';
    pthread_setname_np(pthread_self(), truncated);
}

int bedside_thread_join_timeout(pthread_t thread, int milliseconds) {
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += milliseconds / 1000;
    deadline.tv_nsec += (long)(milliseconds % 1000) * 1000000L;
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec += 1;
        deadline.tv_nsec -= 1000000000L;
    }
    return pthread_timedjoin_np(thread, NULL, &deadline);
}

// SIGUSR2 wakes one thread out of a blocking call so that it can look at its stop flag. The
// handler does nothing: the point is the EINTR, which SA_RESTART would swallow. A SIGUSR2 from
// outside the process is harmless (without a handler it would kill the agent).
#define BEDSIDE_INTERRUPT_SIGNAL SIGUSR2

static void on_interrupt_signal(int signo) { (void)signo; }

static pthread_once_t interrupt_handler_once = PTHREAD_ONCE_INIT;

static void install_interrupt_handler(void) {
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = on_interrupt_signal;
    sigemptyset(&action.sa_mask);
    sigaction(BEDSIDE_INTERRUPT_SIGNAL, &action, NULL);
}

void bedside_accept_interrupts(void) {
    pthread_once(&interrupt_handler_once, install_interrupt_handler);
    sigset_t interrupt;
    sigemptyset(&interrupt);
    sigaddset(&interrupt, BEDSIDE_INTERRUPT_SIGNAL);
    pthread_sigmask(SIG_UNBLOCK, &interrupt, NULL);
}

int bedside_thread_interrupt(pthread_t thread) {
    return pthread_kill(thread, BEDSIDE_INTERRUPT_SIGNAL);
}
