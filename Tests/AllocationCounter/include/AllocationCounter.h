// Counts heap allocations made by one thread, by interposing malloc and friends in the
// test executable (symbols in the executable take precedence over glibc's, also for calls
// from libmodbus and the Swift runtime). Only the thread that called start is counted.
#ifndef ALLOCATION_COUNTER_H
#define ALLOCATION_COUNTER_H

/// 1 when malloc is interposed; 0 in a sanitizer build, where the sanitizer owns malloc and
/// the functions below count nothing.
int allocation_counter_is_interposed(void);
void allocation_counter_start(void);
unsigned long allocation_counter_stop(void);
/// Allocations counted on this thread so far, without stopping.
unsigned long allocation_counter_read(void);

#endif
