// ceil, round and trunc for the x86_64 firmware only. Before SSE4.1 (the x86_64 baseline the
// firmware is built for) the compiler cannot inline them, so Swift's rounded() and the
// standard library's hash tables (which size themselves with ceil) call libm, and these three
// calls alone make the agent load libm: about 390 KiB resident, mostly its IFUNC resolvers'
// pages, for a box whose memory target is 8 MiB. Defined here, the linker (--as-needed) leaves
// libm out. The aarch64 firmware needs none of this: each is one instruction there.
#include "CShims.h"

#if defined(BEDSIDE_EMBEDDED) && defined(__x86_64__) && !defined(__SSE4_1__)
double trunc(double x) { return bedside_trunc(x); }
double round(double x) { return bedside_round(x); }
double ceil(double x) { return bedside_ceil(x); }
#endif
