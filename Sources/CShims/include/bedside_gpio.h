// GPIO character device (Linux v2 uAPI) for the buzzer, button and status LED.
// The kernel structs stay in gpio.c; Swift sees only these plain functions. Every function
// returns a non-negative result or a negative errno.
#ifndef BEDSIDE_GPIO_H
#define BEDSIDE_GPIO_H

#include <stdint.h>

/// One edge reported by the kernel (struct gpio_v2_line_event, reduced).
struct bedside_gpio_event {
    /// CLOCK_MONOTONIC nanoseconds (the kernel's default event clock).
    uint64_t timestamp_ns;
    /// 1 for a rising edge, 0 for a falling edge.
    int32_t rising;
    uint32_t line_seqno;
};

/// Edge detection for bedside_gpio_request_input.
#define BEDSIDE_GPIO_EDGE_RISING 1
#define BEDSIDE_GPIO_EDGE_FALLING 2
#define BEDSIDE_GPIO_EDGE_BOTH 3

/// open(path, O_RDWR | O_CLOEXEC): the chip's fd or -errno.
int bedside_gpio_open_chip(const char *path);
/// GPIO_V2_GET_LINE_IOCTL for one output line at logical `initial_value` (0/1); active_low
/// makes logical 1 drive the pin low: the line fd or -errno.
int bedside_gpio_request_output(int chip_fd, uint32_t offset, int initial_value, int active_low,
                                const char *consumer);
/// GPIO_V2_GET_LINE_IOCTL for one input line with edge detection and, if debounce_us > 0,
/// the kernel's debounce: the line fd or -errno. active_low inverts the reported level/edges.
int bedside_gpio_request_input(int chip_fd, uint32_t offset, int edges, uint32_t debounce_us,
                               int active_low, const char *consumer);
/// GPIO_V2_LINE_SET_VALUES_IOCTL on a one-line request: 0 or -errno.
int bedside_gpio_set_value(int line_fd, int value);
/// GPIO_V2_LINE_GET_VALUES_IOCTL: 0/1 or -errno.
int bedside_gpio_get_value(int line_fd);
/// Waits up to timeout_ms (-1: forever) for one edge: 1 with *event filled, 0 on timeout, -errno
/// (-EINTR when a signal ended the wait).
int bedside_gpio_read_event(int line_fd, int timeout_ms, struct bedside_gpio_event *event);

#endif
