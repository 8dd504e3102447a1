#include "CShims.h"

#include <stdatomic.h>
#include <sys/ioctl.h>

int bedside_terminal_size(int fd, int *rows, int *columns) {
    struct winsize size;
    if (ioctl(fd, TIOCGWINSZ, &size) != 0) return errno;
    *rows = size.ws_row;
    *columns = size.ws_col;
    return 0;
}

static atomic_int resized;
static atomic_int resize_wakeup_fd = -1;

static void on_resize(int signo) {
    (void)signo;
    atomic_store(&resized, 1);
    bedside_signal_eventfd_in_handler(atomic_load(&resize_wakeup_fd));
}

void bedside_install_resize_handler(int wakeup_fd) {
    atomic_store(&resize_wakeup_fd, wakeup_fd);
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = wakeup_fd < 0 ? SIG_DFL : on_resize;
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_RESTART;
    sigaction(SIGWINCH, &action, NULL);
}

int bedside_take_resize(void) { return atomic_exchange(&resized, 0); }
