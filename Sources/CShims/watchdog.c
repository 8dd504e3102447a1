// The Linux watchdog ioctls (variadic ioctl(2) is out of Swift's reach). See bedside_watchdog.h.
#include "CShims.h"

#include <linux/watchdog.h>
#include <sys/ioctl.h>

int bedside_watchdog_set_timeout(int fd, int *seconds) {
    return ioctl(fd, WDIOC_SETTIMEOUT, seconds) == 0 ? 0 : errno;
}

int bedside_watchdog_get_timeout(int fd, int *seconds) {
    return ioctl(fd, WDIOC_GETTIMEOUT, seconds) == 0 ? 0 : errno;
}

int bedside_watchdog_keepalive(int fd) {
    int dummy = 0;
    return ioctl(fd, WDIOC_KEEPALIVE, &dummy) == 0 ? 0 : errno;
}

int bedside_sun_path_capacity(void) {
    struct sockaddr_un address;
    return (int)sizeof address.sun_path;
}
