/*
 * Numbers as text without printf.
 *
 * The writer prints a handful of numbers into every index line and report,
 * tens of thousands of times a second on a busy server; vfprintf's parsing
 * of the format and its locale and floating-point machinery were a tenth
 * of the writer's time. These write the same digits directly, and never a
 * decimal comma whatever locale the server chose.
 */
#include <math.h>
#include <string.h>

#include "report.h"

/* "00" to "99": two digits per division halves the chain of dependent
 * multiplications a number's digits take. */
static const char number_pairs[201] =
    "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
    "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
    "8081828384858687888990919293949596979899";

char *rp_format_uint(char *out, uint64_t value)
{
    char digits[RP_FORMAT_UINT_MAX];
    char *first = digits + sizeof digits;
    size_t length;

    while (value >= 100) {
        first -= 2;
        memcpy(first, &number_pairs[value % 100 * 2], 2);
        value /= 100;
    }
    if (value >= 10) {
        first -= 2;
        memcpy(first, &number_pairs[value * 2], 2);
    } else {
        *--first = (char)('0' + value);
    }
    length = (size_t)(digits + sizeof digits - first);
    memcpy(out, first, length);
    return out + length;
}

char *rp_format_int(char *out, int64_t value)
{
    if (value >= 0)
        return rp_format_uint(out, (uint64_t)value);
    *out++ = '-';
    /* Negated as unsigned: -INT64_MIN does not fit an int64_t. */
    return rp_format_uint(out, -(uint64_t)value);
}

char *rp_format_fixed(char *out, uint64_t value, int decimals)
{
    uint64_t scale = 1;

    for (int i = 0; i < decimals; i++)
        scale *= 10;
    out = rp_format_uint(out, value / scale);
    if (decimals > 0) {
        uint64_t fraction = value % scale;

        *out++ = '.';
        for (int i = decimals - 1; i >= 0; i--) {
            out[i] = (char)('0' + fraction % 10);
            fraction /= 10;
        }
        out += decimals;
    }
    return out;
}

void rp_buffer_put_uint(struct rp_buffer *buffer, uint64_t value)
{
    char *out = rp_buffer_reserve(buffer, RP_FORMAT_UINT_MAX);

    if (out != NULL)
        rp_buffer_commit(buffer, (size_t)(rp_format_uint(out, value) - out));
}

void rp_buffer_put_int(struct rp_buffer *buffer, int64_t value)
{
    char *out = rp_buffer_reserve(buffer, RP_FORMAT_INT_MAX);

    if (out != NULL)
        rp_buffer_commit(buffer, (size_t)(rp_format_int(out, value) - out));
}

void rp_buffer_put_decimal(struct rp_buffer *buffer, double value,
                           int decimals)
{
    /* 2^53: beyond it a double no longer holds every integer. */
    const double limit = 9007199254740992.0;
    uint64_t scale = 1, magnitude;
    char *out, *end;

    if (decimals < 0)
        decimals = 0;
    if (decimals > 6)
        decimals = 6;
    for (int i = 0; i < decimals; i++)
        scale *= 10;
    value *= (double)scale;
    if (!isfinite(value))
        value = 0;
    if (value > limit)
        value = limit;
    if (value < -limit)
        value = -limit;
    /* Rounded by hand rather than with llround: the tool links no libm. The
     * sign comes from the rounded magnitude, so -0.0001 prints "0.000". */
    magnitude = (uint64_t)(value < 0 ? 0.5 - value : value + 0.5);
    out = rp_buffer_reserve(buffer, 1 + RP_FORMAT_FIXED_MAX);
    if (out == NULL)
        return;
    end = out;
    if (value < 0 && magnitude != 0)
        *end++ = '-';
    end = rp_format_fixed(end, magnitude, decimals);
    rp_buffer_commit(buffer, (size_t)(end - out));
}
