// Declarations for reading text: number conversions the Embedded standard library lacks.
#ifndef KINGLET_TEXT_H
#define KINGLET_TEXT_H

#include <stddef.h>

/// What kinglet_parse_double returns.
#define KINGLET_DOUBLE_OK 0
/// The text is not one whole decimal number.
#define KINGLET_DOUBLE_SYNTAX 1
/// The magnitude is beyond the largest double (strtod gave ±HUGE_VAL with ERANGE).
#define KINGLET_DOUBLE_OVERFLOW 2

/// Converts `length` bytes (no NUL terminator needed) of a decimal floating-point number
/// with strtod, correctly rounded, with '.' as the decimal point whatever the locale.
/// The caller checks the grammar first (strtod also takes hex, "inf" and "nan").
/// Underflow is not an error: the result is the nearest subnormal or zero.
int kinglet_parse_double(const char *text, size_t length, double *value);

#endif
