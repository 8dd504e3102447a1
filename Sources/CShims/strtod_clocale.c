// Embedded Swift's Double(String) calls this; the host Swift runtime already defines it,
// so only the firmware build (which passes -DBEDSIDE_EMBEDDED) compiles the body.
#ifdef BEDSIDE_EMBEDDED
#define _GNU_SOURCE
#include <locale.h>
#include <stdlib.h>

const char *_swift_stdlib_strtod_clocale(const char *text, double *result) {
    static locale_t c_locale;
    if (c_locale == (locale_t)0) {
        c_locale = newlocale(LC_ALL_MASK, "C", (locale_t)0);
    }
    char *end = NULL;
    *result = strtod_l(text, &end, c_locale);
    return end;
}
#endif
