/*
 * Declarations shared by the renderers' files and nobody else.
 */
#ifndef REQPROF_RENDERERS_INTERNAL_H
#define REQPROF_RENDERERS_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Decodes the UTF-8 character at the start of text (length > 0). Returns
 * its length in bytes with *codepoint set, or 0 when text does not begin
 * with a well-formed character (stray continuation byte, truncated or
 * overlong sequence, surrogate, beyond U+10FFFF). Paths and symbols are
 * arbitrary bytes, so every renderer must be ready for 0.
 */
size_t rp_utf8_decode(const char *text, size_t length, uint32_t *codepoint);

/*
 * Whether codepoint is a control character: C0, DEL or C1. C1 controls
 * can start terminal escape sequences too, so no renderer prints one raw.
 */
static inline bool rp_unicode_is_control(uint32_t codepoint)
{
    return codepoint < 0x20 || (codepoint >= 0x7F && codepoint <= 0x9F);
}

/* U+FFFD REPLACEMENT CHARACTER, which stands in for undecodable bytes. */
#define RP_UTF8_REPLACEMENT "\xEF\xBF\xBD"

#endif
