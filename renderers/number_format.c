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

char *rp_format_uint(char *out, uint64_t value)
{
    char digits[RP_FORMAT_UINT_MAX];
    size_t length = 0;

    do {
        digits[sizeof digits - ++length] = (char)('0' + value % 10);
        value /= 10;
    } while (value != 0);
    memcpy(out, digits + sizeof digits - length, length);
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
