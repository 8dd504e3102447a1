// Watchdog and systemd-notify shims for Sources/Supervision.
#ifndef BEDSIDE_WATCHDOG_H
#define BEDSIDE_WATCHDOG_H

#include <sys/socket.h>
#include <sys/un.h>

/// ioctl(2) is variadic, which Swift cannot call. Each returns 0 or the errno of the ioctl
/// (ENOTTY when the descriptor is not a watchdog, e.g. a FIFO or a regular file stand-in).
/// WDIOC_SETTIMEOUT: *seconds in, the timeout the driver actually chose out.
int bedside_watchdog_set_timeout(int fd, int *seconds);
/// WDIOC_GETTIMEOUT: the current timeout in seconds.
int bedside_watchdog_get_timeout(int fd, int *seconds);
/// WDIOC_KEEPALIVE.
int bedside_watchdog_keepalive(int fd);

/// sizeof(((struct sockaddr_un *)0)->sun_path): 108 on Linux.
int bedside_sun_path_capacity(void);

#endif
