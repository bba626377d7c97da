/*
 * Declarations shared by the renderers' files and nobody else.
 */
#ifndef REQPROF_RENDERERS_INTERNAL_H
#define REQPROF_RENDERERS_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "calltree.h"

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

struct rp_buffer;

/* ANSI styles of the text views, used only when asked for colour. */
#define RP_STYLE_RED "\033[31m"
#define RP_STYLE_YELLOW "\033[33m"
#define RP_STYLE_GREEN "\033[32m"
#define RP_STYLE_BOLD "\033[1m"
#define RP_STYLE_DIM "\033[2m"
#define RP_STYLE_RESET "\033[0m"

/* The characters that draw a text view's tree and header, in one
 * character set (render_text.c). */
struct rp_text_glyphs {
    const char *branch;      /* before a node that has later siblings */
    const char *last_branch; /* before a node that has none */
    const char *vertical;    /* margin below a node with later siblings */
    const char *blank;       /* margin below a node without */
    const char *arrow;       /* between the request and its status */
    const char *replacement; /* for bytes that must not be printed */
    const char *ellipsis;    /* for a long list of a function's name */
};

/* The Unicode glyphs, or the ASCII ones. */
const struct rp_text_glyphs *rp_text_glyphs(bool unicode);

/*
 * Appends a frame as the text views show it, "function  location": the
 * function's name with long lists shortened (rp_function_name_put_short,
 * made in scratch; the JSON report has names whole), marked when the
 * compiler inlined it, then the source file (its base name when long)
 * and line if known, else the object; bold function (dim for a shared
 * frame) when color. Bytes that must not reach a terminal are written as
 * glyphs' replacement.
 */
void rp_text_put_frame(struct rp_buffer *out, struct rp_buffer *scratch,
                       const struct rp_frame *frame, bool color,
                       const struct rp_text_glyphs *glyphs);

/* Decimals of a share (0 to 1) in JSON: "shared_fraction": 0.0625. */
#define RP_JSON_FRACTION_DECIMALS 4

/*
 * Appends text (length bytes, any bytes) as a JSON string: always valid
 * JSON and UTF-8, bytes that are not UTF-8 written as U+FFFD.
 */
void rp_json_put_string(struct rp_buffer *out, const char *text,
                        size_t length);

/*
 * How long a bracketed list of a function's name may be in the views that
 * people read (text, HTML), in characters: a template argument list or a
 * parameter list longer than this is shown as <…> or (…).
 */
#define RP_FUNCTION_NAME_LIST_MAX 32

/*
 * Appends function to out as text and HTML show it: every template
 * argument list and parameter list longer than RP_FUNCTION_NAME_LIST_MAX
 * characters, counted once the lists inside it are shortened, becomes
 * ellipsis between its brackets, so that
 * "acme::Middleware<std::shared_ptr<acme::Context> >::invoke(acme::Request
 * const&)" reads "acme::Middleware<…>::invoke(…)". The brackets of
 * operators (operator<, operator<<, operator()), of "->" and of
 * "(anonymous namespace)" are not lists. Returns whether anything was
 * shortened. JSON and the other data formats keep names whole.
 */
bool rp_function_name_put_short(struct rp_buffer *out, const char *function,
                                const char *ellipsis);

/* What text and HTML write after the name of a call the compiler inlined
 * (struct rp_frame's inlined), and collapsed stacks at the end of its
 * frame: flamegraph.pl's mark for an inlined frame, which it colours. */
#define RP_INLINED_MARK "[inlined]"
#define RP_INLINED_COLLAPSED_MARK "_[i]"

/*
 * The HTML report's page, stylesheet and script (renderers/html/), built
 * into C strings by renderers/embed.sh.
 */
extern const char rp_html_report_html[];
extern const char rp_html_report_css[];
extern const char rp_html_report_js[];

/* What opens the report's JSON in the HTML page, and closes it: the
 * writer puts it there (render_html.c), the tool's reader looks for it
 * (html_read.c). */
#define RP_HTML_REPORT_OPEN                                                   \
    "<script type=\"application/json\" id=\"reqprof-report\">"
#define RP_HTML_SCRIPT_CLOSE "</script>"

/* Distinct strings in the order first added; they are not copied. */
struct rp_string_set {
    const char **items;
    size_t count;
    size_t capacity;
    bool failed; /* out of memory: a string was not added */
};

/*
 * Adds text unless an equal string is there; returns its index either way,
 * or count (and failed is set) when out of memory. Zero-initialise a set;
 * rp_string_set_free frees it.
 */
size_t rp_string_set_add(struct rp_string_set *set, const char *text);
void rp_string_set_free(struct rp_string_set *set);

#endif
