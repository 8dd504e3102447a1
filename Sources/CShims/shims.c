#include "CShims.h"

#include <stdatomic.h>
#include <sys/eventfd.h>

int bedside_errno(void) { return errno; }
void bedside_set_errno(int value) { errno = value; }

#define BEDSIDE_FORCED_CALL_KINDS 4
static _Thread_local int forced_errno[BEDSIDE_FORCED_CALL_KINDS];

int bedside_forced_errno(int call) {
    return call >= 0 && call < BEDSIDE_FORCED_CALL_KINDS ? forced_errno[call] : 0;
}

void bedside_set_forced_errno(int call, int value) {
    if (call >= 0 && call < BEDSIDE_FORCED_CALL_KINDS) forced_errno[call] = value;
}

int bedside_open(const char *path, int flags, mode_t mode) { return open(path, flags, mode); }

int bedside_eventfd_open(void) { return eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC); }

static int captured_argc;
static char *const *captured_argv;

// glibc passes (argc, argv, envp) to .init_array constructors.
__attribute__((constructor)) static void capture_arguments(int argc, char **argv, char **envp) {
    (void)envp;
    captured_argc = argc;
    captured_argv = argv;
}

int bedside_argc(void) { return captured_argc; }
char *const *bedside_argv(void) { return captured_argv; }

// Written by a signal handler on whichever thread the kernel picks (or by request_stop on any
// thread) and read by every loop: lock-free atomics, which are both async-signal-safe and
// defined across threads (volatile sig_atomic_t is only the former).
static atomic_int stop_flag;
static atomic_int stop_wakeup_fd = -1;

// write(2) is async-signal-safe; errno is kept for the code the signal interrupted.
void bedside_signal_eventfd_in_handler(int fd) {
    if (fd < 0) return;
    int saved = errno;
    uint64_t one = 1;
    ssize_t ignored = write(fd, &one, sizeof one);
    (void)ignored;
    errno = saved;
}

static void wake_for_stop(void) { bedside_signal_eventfd_in_handler(atomic_load(&stop_wakeup_fd)); }

static void on_stop_signal(int signo) {
    (void)signo;
    atomic_store(&stop_flag, 1);
    wake_for_stop();
}

void bedside_set_stop_wakeup(int fd) { atomic_store(&stop_wakeup_fd, fd); }

void bedside_install_stop_handlers(void) {
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = on_stop_signal;
    sigemptyset(&action.sa_mask);
    // No SA_RESTART: a blocking sleep or poll returns EINTR so loops notice the stop promptly.
    sigaction(SIGINT, &action, NULL);
    sigaction(SIGTERM, &action, NULL);
    signal(SIGPIPE, SIG_IGN);
    // A parent may hand down a blocked signal mask (some process launchers do); without
    // this the stop signals would never reach the handler.
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGTERM);
    pthread_sigmask(SIG_UNBLOCK, &stop_signals, NULL);
}

int bedside_stop_requested(void) { return atomic_load(&stop_flag) != 0; }
void bedside_request_stop(void) {
    atomic_store(&stop_flag, 1);
    wake_for_stop();
}
