/*
 * Function names shortened for the eye; see rp_function_name_put_short.
 *
 * A demangled C++ name can run to hundreds of characters, most of them
 * template arguments nobody reads in a tree
 * (std::__cxx11::basic_string<char, std::char_traits<char>, ...>). The
 * views that people read (text, HTML) show each long bracketed list as
 * <…> or (…); the data formats (JSON, pprof, collapsed stacks) keep the
 * name whole, and the HTML page shows it whole on hover.
 *
 * The brackets that are not lists are copied as they are: the operators
 * spelt with one (operator<, operator<<, operator->, operator()), an
 * arrow (->) inside an expression, and "(anonymous namespace)". A lambda,
 * {lambda(int const&)#1}, has a parameter list like any function.
 */
#include <stdbool.h>
#include <string.h>

#include "internal.h"
#include "report.h"

/* Lists nested deeper than this are copied as plain text. */
#define NAME_DEPTH_MAX 64

/* The operators whose spelling holds a bracket, longest first, so that
 * the first one that matches is the whole operator. */
static const char *const name_bracket_operators[] = {
    "->*", "<=>", "<<=", ">>=", "()", "->", "<<", ">>", "<=", ">=", "<", ">",
};

#define NAME_OPERATOR "operator"
#define NAME_ANONYMOUS_NAMESPACE "(anonymous namespace)"

static bool name_is_identifier_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || c == '_';
}

/*
 * The length of the bracket-holding operator's name that starts at
 * text + at ("operator<<" is 10), or 0 if none starts there.
 */
static size_t name_operator_length(const char *text, size_t at)
{
    size_t keyword = strlen(NAME_OPERATOR);

    if (strncmp(text + at, NAME_OPERATOR, keyword) != 0 ||
        (at > 0 && name_is_identifier_char(text[at - 1])))
        return 0;
    for (size_t i = 0; i < sizeof name_bracket_operators /
                               sizeof name_bracket_operators[0]; i++) {
        const char *symbol = name_bracket_operators[i];

        if (strncmp(text + at + keyword, symbol, strlen(symbol)) == 0)
            return keyword + strlen(symbol);
    }
    return 0;
}

/* The length of what starts at text + at and is copied as it is, never
 * read as brackets; 0 if nothing of the kind starts there. */
static size_t name_verbatim_length(const char *text, size_t at)
{
    size_t length = name_operator_length(text, at);

    if (length > 0)
        return length;
    if (strncmp(text + at, NAME_ANONYMOUS_NAMESPACE,
                strlen(NAME_ANONYMOUS_NAMESPACE)) == 0)
        return strlen(NAME_ANONYMOUS_NAMESPACE);
    if (text[at] == '-' && text[at + 1] == '>')
        return 2;
    return 0;
}

/* Characters (not bytes: UTF-8 continuation bytes do not count) in text. */
static size_t name_characters(const char *text, size_t length)
{
    size_t count = 0;

    for (size_t i = 0; i < length; i++)
        count += ((unsigned char)text[i] & 0xC0) != 0x80;
    return count;
}

bool rp_function_name_put_short(struct rp_buffer *out, const char *function,
                                const char *ellipsis)
{
    size_t opened_at[NAME_DEPTH_MAX]; /* where each open list's text starts */
    char closer[NAME_DEPTH_MAX];      /* and the bracket that ends it */
    size_t depth = 0, too_deep = 0;
    bool shortened = false;

    for (size_t at = 0; function[at] != '\0';) {
        size_t verbatim = name_verbatim_length(function, at);
        char c = function[at];

        if (verbatim > 0) {
            rp_buffer_append(out, function + at, verbatim);
            at += verbatim;
            continue;
        }
        at++;
        if (c == '<' || c == '(') {
            rp_buffer_append(out, &c, 1);
            if (depth == NAME_DEPTH_MAX) {
                too_deep++;
                continue;
            }
            opened_at[depth] = out->length;
            closer[depth++] = c == '<' ? '>' : ')';
            continue;
        }
        if (too_deep > 0 && (c == '>' || c == ')')) {
            too_deep--;
        } else if (depth > 0 && c == closer[depth - 1]) {
            size_t start = opened_at[--depth];

            /* The lists inside were shortened already: the list is judged
             * by what is left of it. */
            if (!out->failed &&
                name_characters(out->data + start, out->length - start) >
                    RP_FUNCTION_NAME_LIST_MAX) {
                rp_buffer_truncate(out, start);
                rp_buffer_puts(out, ellipsis);
                shortened = true;
            }
        }
        rp_buffer_append(out, &c, 1);
    }
    return shortened;
}
