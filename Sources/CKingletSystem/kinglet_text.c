// Text conversions: strtod for the document readers (Embedded Swift has no Double(String)).
#include "kinglet_system.h"

#include <locale.h>
#include <math.h>

int kinglet_parse_double(const char *text, size_t length, double *value) {
    // strtod reads the locale's decimal point: swap '.' for it when a program has set
    // one, so "1.5" never stops at the '.'.
    const char *point = localeconv()->decimal_point;
    size_t point_length = (point != NULL && point[0] != '\0') ? strlen(point) : 1;
    int swap = point != NULL && !(point[0] == '.' && point[1] == '\0') && point[0] != '\0';

    char small[128];
    size_t capacity = length * (swap ? point_length : 1) + 1;
    char *copy = capacity <= sizeof small ? small : malloc(capacity);
    if (copy == NULL) return KINGLET_DOUBLE_SYNTAX;
    size_t used = 0;
    for (size_t i = 0; i < length; i++) {
        if (text[i] == '\0') { // not a number's byte: strtod would stop short of the end
            if (copy != small) free(copy);
            return KINGLET_DOUBLE_SYNTAX;
        }
        if (swap && text[i] == '.') {
            memcpy(copy + used, point, point_length);
            used += point_length;
        } else {
            copy[used++] = text[i];
        }
    }
    copy[used] = '\0';

    int saved_errno = errno; // callers may still want the errno of their last system call
    errno = 0;
    char *end = NULL;
    double result = strtod(copy, &end);
    int status = KINGLET_DOUBLE_OK;
    if (used == 0 || end != copy + used) {
        status = KINGLET_DOUBLE_SYNTAX;
    } else if (errno == ERANGE && isinf(result)) {
        status = KINGLET_DOUBLE_OVERFLOW;
    }
    errno = saved_errno;
    if (copy != small) free(copy);
    *value = result;
    return status;
}
