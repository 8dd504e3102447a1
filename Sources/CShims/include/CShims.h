// Thin C helpers for what Swift cannot reach directly. The libc headers are included
// here because Embedded Swift has no Glibc module: importing CShims gives both builds
// the same view of the C library.
#ifndef BEDSIDE_CSHIMS_H
#define BEDSIDE_CSHIMS_H

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <dirent.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timex.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <time.h>
#include <crypt.h>
#include <unistd.h>

/// errno is a macro over a thread-local; Swift sees it through these.
int bedside_errno(void);
void bedside_set_errno(int value);

/// Errors forced onto the calling thread's file system calls, for tests (Platform's
/// ForcedErrno): per kind of call, 0 for none or the errno the call fails with.
/// Thread-local, so a test forcing failures does not disturb tests running beside it.
int bedside_forced_errno(int call);
void bedside_set_forced_errno(int call, int value);

/// open(2) is variadic, which Swift cannot call.
int bedside_open(const char *path, int flags, mode_t mode);

/// eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC): the counter's fd, or -1 with errno set. The flags
/// are macros over an anonymous enum, which the two Swift builds import differently.
int bedside_eventfd_open(void);

/// The process arguments, captured by an ELF constructor: Embedded Swift has no CommandLine.
int bedside_argc(void);
char *const *bedside_argv(void);

/// SIGINT and SIGTERM set a flag (async-signal-safe) and interrupt sleeps; SIGPIPE is ignored
/// so a vanished peer becomes an EPIPE error instead of killing the agent.
void bedside_install_stop_handlers(void);
int bedside_stop_requested(void);
void bedside_request_stop(void);
/// An eventfd the stop handler (and bedside_request_stop) also signals, so a thread blocked
/// in poll(2) on it notices a stop that the kernel delivered to another thread; -1 for none.
void bedside_set_stop_wakeup(int fd);
/// Bumps the eventfd `fd` (none when -1) from a signal handler, keeping errno.
void bedside_signal_eventfd_in_handler(int fd);

/// Real-time setup of the calling thread. Returns 0 or an errno; on failure the thread
/// keeps its previous policy. cpu < 0 leaves affinity alone.
int bedside_set_realtime(int priority);
int bedside_set_cpu_affinity(int cpu);
/// mlockall(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT), then the program's own segments locked
/// whole; returns 0 or an errno.
int bedside_lock_memory(void);
/// Starts a detached-or-joinable pthread running entry(context); returns 0 or an errno.
int bedside_thread_start(pthread_t *thread, void *(*entry)(void *), void *context);
void bedside_thread_set_name(const char *name);
/// Joins a thread, giving up after `milliseconds`: returns 0 or ETIMEDOUT.
int bedside_thread_join_timeout(pthread_t thread, int milliseconds);
/// Makes threads started later by C libraries use the agent's smaller thread stack.
void bedside_limit_default_thread_stack(void);
/// Lets the calling thread be woken from a blocking call (clock_nanosleep, poll, connect) by
/// bedside_thread_interrupt: installs (once per process) a handler that does nothing, without
/// SA_RESTART, for the interrupt signal (SIGUSR2), and unblocks that signal in this thread.
void bedside_accept_interrupts(void);
/// Sends the interrupt signal to `thread`: its blocking call returns EINTR. 0 or an errno.
int bedside_thread_interrupt(pthread_t thread);
/// `bytes` of zeroed, private anonymous memory from mmap, or NULL. Pages become resident
/// (and, under mlockall's MCL_ONFAULT, locked) only when first written.
void *bedside_map_zeroed(size_t bytes);
void bedside_unmap(void *pages, size_t bytes);
/// mallopt(M_ARENA_MAX, arenas): threads share that many malloc arenas instead of one each.
int bedside_limit_malloc_arenas(int arenas);

/// Rounding without libm, exact for every double (one of magnitude 2^52 or more is whole
/// already; NaN and infinities come back unchanged). rounding.c gives the x86_64 firmware its
/// ceil, round and trunc from these (see there why); the host tests compare them with libm's.
static inline double bedside_trunc(double x) {
    if (!(__builtin_fabs(x) < 4503599627370496.0)) return x;
    return __builtin_copysign((double)(long long)x, x);
}
/// Half-way cases away from zero, as round(3).
static inline double bedside_round(double x) {
    double whole = bedside_trunc(x);
    double rest = x - whole; /* exact: below 2^52 the fraction of x is representable */
    if (rest >= 0.5) whole += 1.0;
    else if (rest <= -0.5) whole -= 1.0;
    return __builtin_copysign(whole, x);
}
static inline double bedside_ceil(double x) {
    double whole = bedside_trunc(x);
    return whole < x ? whole + 1.0 : whole;
}

/// TCP client for the MLLP link (tcp.c): a connected blocking socket or -errno;
/// -BEDSIDE_TCP_UNRESOLVED when the host name does not resolve.
#define BEDSIDE_TCP_UNRESOLVED 100000
int bedside_tcp_connect(const char *host, int port, int timeout_ms, int io_timeout_ms);
int bedside_send_all(int fd, const unsigned char *buffer, int length);

#include "bedside_gpio.h"
#include "bedside_watchdog.h"
#include "bedside_terminal.h"

#endif
