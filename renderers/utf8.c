/*
 * UTF-8 decoding, strict as RFC 3629 section 4 says: the renderers promise
 * valid UTF-8 output, so anything a lenient decoder would let through
 * (overlong forms, surrogates) must count as undecodable here. And the
 * filter every view that prints to a terminal puts names through.
 */
#include "internal.h"
#include "report.h"

size_t rp_utf8_decode(const char *text, size_t length, uint32_t *codepoint)
{
    const unsigned char *bytes = (const unsigned char *)text;
    size_t needed;
    uint32_t value, minimum;

    if (bytes[0] < 0x80) {
        *codepoint = bytes[0];
        return 1;
    }
    if (bytes[0] >= 0xC2 && bytes[0] <= 0xDF) {
        needed = 2;
        value = bytes[0] & 0x1F;
        minimum = 0x80;
    } else if (bytes[0] >= 0xE0 && bytes[0] <= 0xEF) {
        needed = 3;
        value = bytes[0] & 0x0F;
        minimum = 0x800;
    } else if (bytes[0] >= 0xF0 && bytes[0] <= 0xF4) {
        needed = 4;
        value = bytes[0] & 0x07;
        minimum = 0x10000;
    } else {
        return 0; /* continuation byte, 0xC0/0xC1 (always overlong), 0xF5+ */
    }
    if (length < needed)
        return 0;
    for (size_t i = 1; i < needed; i++) {
        if ((bytes[i] & 0xC0) != 0x80)
            return 0;
        value = (value << 6) | (bytes[i] & 0x3F);
    }
    if (value < minimum || value > 0x10FFFF ||
        (value >= 0xD800 && value <= 0xDFFF))
        return 0;
    *codepoint = value;
    return needed;
}

void rp_buffer_put_printable(struct rp_buffer *buffer, const char *text,
                             size_t length, const char *replacement)
{
    size_t run = 0; /* bytes before i that can be copied as they are */

    for (size_t i = 0; i < length;) {
        uint32_t codepoint;
        size_t size = rp_utf8_decode(text + i, length - i, &codepoint);

        if (size != 0 && !rp_unicode_is_control(codepoint)) {
            run += size;
            i += size;
            continue;
        }
        rp_buffer_append(buffer, text + i - run, run);
        rp_buffer_puts(buffer, replacement);
        run = 0;
        i += size ? size : 1;
    }
    rp_buffer_append(buffer, text + length - run, run);
}
