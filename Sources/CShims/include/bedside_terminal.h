// The terminal `bedside-gateway watch` draws its board on (terminal.c).
#ifndef BEDSIDE_TERMINAL_H
#define BEDSIDE_TERMINAL_H

/// The terminal's size on `fd` (ioctl TIOCGWINSZ, which Swift cannot call: ioctl is
/// variadic): 0 with rows and columns set, or an errno.
int bedside_terminal_size(int fd, int *rows, int *columns);

/// SIGWINCH sets a flag and writes to `wakeup_fd` (an eventfd), as the stop signals do, so the
/// board redraws at once when the window changes size. SA_RESTART: no other call sees EINTR.
void bedside_install_resize_handler(int wakeup_fd);
/// Whether the size changed since the last call (and clears it).
int bedside_take_resize(void);

#endif
