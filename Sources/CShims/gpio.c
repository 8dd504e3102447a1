// Linux GPIO character device, v2 uAPI (linux/gpio.h). ioctl(2) is variadic, which Swift
// cannot call, and the request structs are easier to fill in C.
#include "bedside_gpio.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <linux/gpio.h>

static void copy_consumer(char *into, const char *consumer) {
    if (consumer == NULL) consumer = "bedside-gateway";
    strncpy(into, consumer, GPIO_MAX_NAME_SIZE - 1);
    into[GPIO_MAX_NAME_SIZE - 1] = '\0';
}

int bedside_gpio_open_chip(const char *path) {
    int fd = open(path, O_RDWR | O_CLOEXEC);
    return fd < 0 ? -errno : fd;
}

static int request_line(int chip_fd, struct gpio_v2_line_request *request) {
    if (ioctl(chip_fd, GPIO_V2_GET_LINE_IOCTL, request) < 0) return -errno;
    return request->fd;
}

int bedside_gpio_request_output(int chip_fd, uint32_t offset, int initial_value, int active_low,
                                const char *consumer) {
    struct gpio_v2_line_request request;
    memset(&request, 0, sizeof request);
    request.offsets[0] = offset;
    request.num_lines = 1;
    copy_consumer(request.consumer, consumer);
    request.config.flags = GPIO_V2_LINE_FLAG_OUTPUT | (active_low ? GPIO_V2_LINE_FLAG_ACTIVE_LOW : 0);
    request.config.num_attrs = 1;
    request.config.attrs[0].attr.id = GPIO_V2_LINE_ATTR_ID_OUTPUT_VALUES;
    request.config.attrs[0].attr.values = initial_value ? 1 : 0;
    request.config.attrs[0].mask = 1;
    return request_line(chip_fd, &request);
}

int bedside_gpio_request_input(int chip_fd, uint32_t offset, int edges, uint32_t debounce_us,
                               int active_low, const char *consumer) {
    struct gpio_v2_line_request request;
    memset(&request, 0, sizeof request);
    request.offsets[0] = offset;
    request.num_lines = 1;
    copy_consumer(request.consumer, consumer);
    uint64_t flags = GPIO_V2_LINE_FLAG_INPUT;
    if (edges & BEDSIDE_GPIO_EDGE_RISING) flags |= GPIO_V2_LINE_FLAG_EDGE_RISING;
    if (edges & BEDSIDE_GPIO_EDGE_FALLING) flags |= GPIO_V2_LINE_FLAG_EDGE_FALLING;
    if (active_low) flags |= GPIO_V2_LINE_FLAG_ACTIVE_LOW;
    request.config.flags = flags;
    if (debounce_us > 0) {
        request.config.num_attrs = 1;
        request.config.attrs[0].attr.id = GPIO_V2_LINE_ATTR_ID_DEBOUNCE;
        request.config.attrs[0].attr.debounce_period_us = debounce_us;
        request.config.attrs[0].mask = 1;
    }
    return request_line(chip_fd, &request);
}

int bedside_gpio_set_value(int line_fd, int value) {
    struct gpio_v2_line_values values;
    memset(&values, 0, sizeof values);
    values.mask = 1;
    values.bits = value ? 1 : 0;
    if (ioctl(line_fd, GPIO_V2_LINE_SET_VALUES_IOCTL, &values) < 0) return -errno;
    return 0;
}

int bedside_gpio_get_value(int line_fd) {
    struct gpio_v2_line_values values;
    memset(&values, 0, sizeof values);
    values.mask = 1;
    if (ioctl(line_fd, GPIO_V2_LINE_GET_VALUES_IOCTL, &values) < 0) return -errno;
    return (int)(values.bits & 1);
}

int bedside_gpio_read_event(int line_fd, int timeout_ms, struct bedside_gpio_event *event) {
    struct pollfd pfd = { .fd = line_fd, .events = POLLIN, .revents = 0 };
    int ready = poll(&pfd, 1, timeout_ms);
    if (ready < 0) return -errno; // including -EINTR: the caller decides what a signal means
    if (ready == 0) return 0;
    struct gpio_v2_line_event raw;
    // The line is readable: read returns at once, so no signal can interrupt it.
    ssize_t got = read(line_fd, &raw, sizeof raw);
    if (got < 0) return -errno;
    if ((size_t)got != sizeof raw) return -EIO;
    event->timestamp_ns = raw.timestamp_ns;
    event->rising = raw.id == GPIO_V2_LINE_EVENT_RISING_EDGE ? 1 : 0;
    event->line_seqno = raw.line_seqno;
    return 1;
}
