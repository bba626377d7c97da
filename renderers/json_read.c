/*
 * Reads a report back from its JSON rendering.
 *
 * This is not a general JSON parser. It is a recursive-descent reader of
 * exactly the document rp_render_json writes: the members in the order
 * docs/report-format.md gives, each of the type given there. That keeps it
 * small and its errors precise ("line 3: expected \"status\""), and anything
 * else, JSON or not, is refused with the line where it stopped making sense.
 *
 * The input is untrusted (a report file anyone may have edited or cut
 * short): every read is bounds-checked against the length, the nesting of
 * the tree is limited so the recursion is too, and every count is checked
 * for overflow and against the counts it must add up to.
 */
#include <inttypes.h>
#include <locale.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "heap.h"
#include "internal.h"
#include "report.h"

/* Objects and arrays open at once: a tree of ~1000 levels. */
#define JSON_NESTING_MAX 2048
/* Longest number token: a double with 17 digits and an exponent fits. */
#define JSON_NUMBER_MAX 64
/* Longest time a report may give, in ms: some 31 years, whose nanoseconds
 * still fit in 64 bits. */
#define JSON_MILLISECONDS_MAX 1e12

/* One reading in progress. */
struct json_reader {
    const char *text;  /* the document; need not end with a NUL */
    size_t length;     /* bytes in text */
    size_t position;   /* next byte to read */
    int line;          /* line of text[position], from 1 */
    int nesting;       /* objects and arrays open */
    bool failed;       /* error holds the reason */
    char *error;       /* the caller's buffer for the reason */
    size_t error_size; /* its size; 0 when the caller wants no reason */

    locale_t c_locale;      /* for strtod_l: "1.5" whatever the locale is */
    struct rp_buffer key;   /* the last member name read */
    struct rp_buffer value; /* the last string value read */

    /* The frame of the node being read, kept until it is interned. */
    struct rp_buffer function, object, file;
    bool has_object, has_file; /* false: the member was null */
    /* The object being read: its name goes in object, its build ID here. */
    struct rp_buffer build_id;

    uint64_t version; /* of the document: 1 to RP_REPORT_JSON_VERSION */
    bool cpu_known;   /* the nodes and points say what ran on the CPU
                       * (version 6 on, with "cpu_samples" not null) */

    struct rp_calltree *tree;            /* being built */
    uint32_t path[JSON_NESTING_MAX / 2]; /* frame ids, root's child first */
    /* Nodes in the order read, for the timeline to name them by number. */
    const struct rp_calltree_node **nodes;
    size_t node_count;
    size_t node_capacity;
};

/* Records the first error, prefixed with its line; returns false. */
__attribute__((format(printf, 2, 3)))
static bool reader_fail(struct json_reader *reader, const char *format, ...)
{
    va_list arguments;
    int length;

    if (reader->failed)
        return false;
    reader->failed = true;
    if (reader->error_size == 0)
        return false;
    length = snprintf(reader->error, reader->error_size, "line %d: ",
                      reader->line);
    if (length >= 0 && (size_t)length < reader->error_size) {
        va_start(arguments, format);
        vsnprintf(reader->error + length, reader->error_size - (size_t)length,
                  format, arguments);
        va_end(arguments);
    }
    return false;
}

/* The next byte, or -1 at the end of the text. */
static int reader_peek(const struct json_reader *reader)
{
    if (reader->position == reader->length)
        return -1;
    return (unsigned char)reader->text[reader->position];
}

static void reader_skip_space(struct json_reader *reader)
{
    for (int c; (c = reader_peek(reader)) != -1; reader->position++) {
        if (c == '\n')
            reader->line++;
        else if (c != ' ' && c != '\t' && c != '\r')
            break;
    }
}

/* Describes the next byte for an error message. */
static const char *reader_found(const struct json_reader *reader,
                                char *text, size_t size)
{
    int c = reader_peek(reader);

    if (c == -1)
        return "the end of the file";
    if (c > 0x20 && c < 0x7f)
        snprintf(text, size, "'%c'", c);
    else
        snprintf(text, size, "byte 0x%02x", (unsigned)c);
    return text;
}

/* Skips space and reads the byte expected, or fails. */
static bool reader_expect(struct json_reader *reader, char expected)
{
    char found[16];

    reader_skip_space(reader);
    if (reader_peek(reader) == (unsigned char)expected) {
        reader->position++;
        return true;
    }
    return reader_fail(reader, "expected '%c', found %s", expected,
                       reader_found(reader, found, sizeof found));
}

/* Skips space and reads the byte if it is the one given. */
static bool reader_accept(struct json_reader *reader, char expected)
{
    reader_skip_space(reader);
    if (reader_peek(reader) != (unsigned char)expected)
        return false;
    reader->position++;
    return true;
}

/* Reads '{' or '[' and counts it against the nesting limit. */
static bool reader_open(struct json_reader *reader, char bracket)
{
    if (!reader_expect(reader, bracket))
        return false;
    if (++reader->nesting > JSON_NESTING_MAX)
        return reader_fail(reader, "nested deeper than %d", JSON_NESTING_MAX);
    return true;
}

static bool reader_close(struct json_reader *reader, char bracket)
{
    reader->nesting--;
    return reader_expect(reader, bracket);
}

/* Reads the four hex digits of a \u escape. */
static bool reader_hex4(struct json_reader *reader, uint32_t *value)
{
    *value = 0;
    for (int i = 0; i < 4; i++) {
        int c = reader_peek(reader), digit;

        if (c >= '0' && c <= '9')
            digit = c - '0';
        else if (c >= 'a' && c <= 'f')
            digit = c - 'a' + 10;
        else if (c >= 'A' && c <= 'F')
            digit = c - 'A' + 10;
        else
            return reader_fail(reader, "bad \\u escape in a string");
        *value = *value << 4 | (uint32_t)digit;
        reader->position++;
    }
    return true;
}

/* Appends codepoint, a Unicode scalar value, as UTF-8. */
static void buffer_put_utf8(struct rp_buffer *buffer, uint32_t codepoint)
{
    char bytes[4];
    size_t length;

    if (codepoint < 0x80) {
        bytes[0] = (char)codepoint;
        length = 1;
    } else if (codepoint < 0x800) {
        bytes[0] = (char)(0xC0 | codepoint >> 6);
        bytes[1] = (char)(0x80 | (codepoint & 0x3F));
        length = 2;
    } else if (codepoint < 0x10000) {
        bytes[0] = (char)(0xE0 | codepoint >> 12);
        bytes[1] = (char)(0x80 | (codepoint >> 6 & 0x3F));
        bytes[2] = (char)(0x80 | (codepoint & 0x3F));
        length = 3;
    } else {
        bytes[0] = (char)(0xF0 | codepoint >> 18);
        bytes[1] = (char)(0x80 | (codepoint >> 12 & 0x3F));
        bytes[2] = (char)(0x80 | (codepoint >> 6 & 0x3F));
        bytes[3] = (char)(0x80 | (codepoint & 0x3F));
        length = 4;
    }
    rp_buffer_append(buffer, bytes, length);
}

/* Reads the rest of a \u escape (after the u), surrogate pairs included. */
static bool reader_unicode_escape(struct json_reader *reader,
                                  struct rp_buffer *into)
{
    uint32_t codepoint, low;

    if (!reader_hex4(reader, &codepoint))
        return false;
    if (codepoint >= 0xD800 && codepoint <= 0xDBFF) {
        if (reader->length - reader->position < 2 ||
            memcmp(reader->text + reader->position, "\\u", 2) != 0)
            return reader_fail(reader, "unpaired surrogate in a string");
        reader->position += 2;
        if (!reader_hex4(reader, &low))
            return false;
        if (low < 0xDC00 || low > 0xDFFF)
            return reader_fail(reader, "unpaired surrogate in a string");
        codepoint = 0x10000 + ((codepoint - 0xD800) << 10) + (low - 0xDC00);
    } else if (codepoint >= 0xDC00 && codepoint <= 0xDFFF) {
        return reader_fail(reader, "unpaired surrogate in a string");
    }
    /* C strings end at NUL, so no report can hold one. */
    if (codepoint == 0)
        return reader_fail(reader, "\\u0000 in a string");
    buffer_put_utf8(into, codepoint);
    return true;
}

/* Reads a string into *into (replacing its contents). */
static bool reader_string(struct json_reader *reader, struct rp_buffer *into)
{
    static const char escapes[] = "\"\"\\\\//b\bf\fn\nr\rt\t";
    char found[16];

    reader_skip_space(reader);
    if (reader_peek(reader) != '"')
        return reader_fail(reader, "expected a string, found %s",
                           reader_found(reader, found, sizeof found));
    reader->position++;
    rp_buffer_reset(into);
    /* Make data a string even when the JSON string is empty. */
    rp_buffer_append(into, "", 0);
    for (;;) {
        int c = reader_peek(reader);
        uint32_t codepoint;
        size_t size;

        if (c == -1)
            return reader_fail(reader, "unterminated string");
        if (c == '"')
            break;
        if (c < 0x20)
            return reader_fail(reader, "control character in a string");
        if (c == '\\') {
            const char *escape;

            reader->position++;
            c = reader_peek(reader);
            if (c == 'u') {
                reader->position++;
                if (!reader_unicode_escape(reader, into))
                    return false;
                continue;
            }
            for (escape = escapes; *escape && *escape != c; escape += 2)
                ;
            if (c == -1 || *escape == '\0')
                return reader_fail(reader, "bad escape in a string");
            rp_buffer_append(into, escape + 1, 1);
            reader->position++;
            continue;
        }
        size = rp_utf8_decode(reader->text + reader->position,
                              reader->length - reader->position, &codepoint);
        if (size == 0)
            return reader_fail(reader, "invalid UTF-8 in a string");
        rp_buffer_append(into, reader->text + reader->position, size);
        reader->position += size;
    }
    reader->position++;
    if (into->failed)
        return reader_fail(reader, "out of memory");
    return true;
}

/* Reads the literal null if it comes next. */
static bool reader_accept_null(struct json_reader *reader)
{
    reader_skip_space(reader);
    if (reader->length - reader->position < 4 ||
        memcmp(reader->text + reader->position, "null", 4) != 0)
        return false;
    reader->position += 4;
    return true;
}

/* Reads the literal true, which must come next. */
static bool reader_true(struct json_reader *reader)
{
    char found[16];

    reader_skip_space(reader);
    if (reader->length - reader->position < 4 ||
        memcmp(reader->text + reader->position, "true", 4) != 0)
        return reader_fail(reader, "expected true, found %s",
                           reader_found(reader, found, sizeof found));
    reader->position += 4;
    return true;
}

/* Reads a string, or null (then *present is false). */
static bool reader_optional_string(struct json_reader *reader,
                                   struct rp_buffer *into, bool *present)
{
    *present = !reader_accept_null(reader);
    return !*present || reader_string(reader, into);
}

/* Reads "name": , the next member's key, which must be name. */
static bool reader_key(struct json_reader *reader, const char *name)
{
    if (!reader_string(reader, &reader->key))
        return false;
    if (strcmp(reader->key.data, name) != 0)
        return reader_fail(reader, "expected \"%s\", found \"%.40s\"", name,
                           reader->key.data);
    return reader_expect(reader, ':');
}

/* Reads ", " then the key: every member but an object's first. */
static bool reader_next_key(struct json_reader *reader, const char *name)
{
    return reader_expect(reader, ',') && reader_key(reader, name);
}

/* Whether the next member is name (a member that may be left out), read
 * as reader_next_key would read it; moves nothing. */
static bool reader_next_key_is(struct json_reader *reader, const char *name)
{
    size_t position = reader->position, length = strlen(name);
    int line = reader->line;
    bool found = false;

    reader_skip_space(reader);
    if (reader_peek(reader) == ',') {
        reader->position++;
        reader_skip_space(reader);
        const char *next = reader->text + reader->position;
        found = reader->length - reader->position > length + 1 &&
                next[0] == '"' && memcmp(next + 1, name, length) == 0 &&
                next[length + 1] == '"';
    }
    reader->position = position;
    reader->line = line;
    return found;
}

/* Skips decimal digits; returns how many. */
static size_t reader_digits(struct json_reader *reader)
{
    size_t count = 0;

    for (int c; (c = reader_peek(reader)) >= '0' && c <= '9'; count++)
        reader->position++;
    return count;
}

/*
 * Scans a number as JSON's grammar has it (RFC 8259 section 6), leaving
 * the position after it and *start at its first byte.
 */
static bool reader_number(struct json_reader *reader, const char **start,
                          bool *is_integer)
{
    size_t integer_digits;
    char found[16];

    reader_skip_space(reader);
    *start = reader->text + reader->position;
    *is_integer = true;
    if (reader_peek(reader) == '-')
        reader->position++;
    integer_digits = reader_digits(reader);
    if (integer_digits == 0) {
        reader->position = (size_t)(*start - reader->text);
        return reader_fail(reader, "expected a number, found %s",
                           reader_found(reader, found, sizeof found));
    }
    if (integer_digits > 1 &&
        reader->text[reader->position - integer_digits] == '0')
        return reader_fail(reader, "number with a leading zero");
    if (reader_peek(reader) == '.') {
        *is_integer = false;
        reader->position++;
        if (reader_digits(reader) == 0)
            return reader_fail(reader, "no digits after '.'");
    }
    if (reader_peek(reader) == 'e' || reader_peek(reader) == 'E') {
        *is_integer = false;
        reader->position++;
        if (reader_peek(reader) == '+' || reader_peek(reader) == '-')
            reader->position++;
        if (reader_digits(reader) == 0)
            return reader_fail(reader, "no digits in an exponent");
    }
    return true;
}

/*
 * Reads an integer as its sign and magnitude, refusing a magnitude above
 * maximum and, unless negative_allowed, a minus sign.
 */
static bool reader_integer(struct json_reader *reader, bool negative_allowed,
                           uint64_t maximum, uint64_t *magnitude,
                           bool *negative)
{
    const char *digit, *end;
    bool is_integer;

    if (!reader_number(reader, &digit, &is_integer))
        return false;
    if (!is_integer)
        return reader_fail(reader, "expected an integer");
    *negative = *digit == '-';
    if (*negative && !negative_allowed)
        return reader_fail(reader, "expected a count, found a negative number");
    *magnitude = 0;
    end = reader->text + reader->position;
    for (digit += *negative; digit < end; digit++) {
        unsigned value = (unsigned)(*digit - '0');

        if (*magnitude > (maximum - value) / 10)
            return reader_fail(reader, "integer out of range");
        *magnitude = *magnitude * 10 + value;
    }
    return true;
}

static bool reader_uint64(struct json_reader *reader, uint64_t *value)
{
    bool negative;

    return reader_integer(reader, false, UINT64_MAX, value, &negative);
}

/* Reads an int64_t; the range is symmetric, -INT64_MAX up. */
static bool reader_int64(struct json_reader *reader, int64_t *value)
{
    uint64_t magnitude;
    bool negative;

    if (!reader_integer(reader, true, INT64_MAX, &magnitude, &negative))
        return false;
    *value = negative ? -(int64_t)magnitude : (int64_t)magnitude;
    return true;
}

/* Reads an int from 0 up: statuses, pids and lines are never negative. */
static bool reader_count_int(struct json_reader *reader, int *value)
{
    uint64_t magnitude;
    bool negative;

    if (!reader_integer(reader, false, INT32_MAX, &magnitude, &negative))
        return false;
    *value = (int)magnitude;
    return true;
}

/* Reads a number from 0 to maximum; what names it in the error. */
static bool reader_decimal(struct json_reader *reader, double maximum,
                           const char *what, double *value)
{
    char number[JSON_NUMBER_MAX];
    const char *start;
    bool is_integer;
    size_t length;

    if (!reader_number(reader, &start, &is_integer))
        return false;
    length = (size_t)(reader->text + reader->position - start);
    if (length >= sizeof number)
        return reader_fail(reader, "number too long");
    memcpy(number, start, length);
    number[length] = '\0';
    *value = strtod_l(number, NULL, reader->c_locale);
    if (!isfinite(*value) || *value < 0 || *value > maximum)
        return reader_fail(reader, "%s out of range", what);
    return true;
}

/* Reads a time in milliseconds: not negative, and at most
 * JSON_MILLISECONDS_MAX, so that renderers may count it in nanoseconds. */
static bool reader_milliseconds(struct json_reader *reader, double *value)
{
    return reader_decimal(reader, JSON_MILLISECONDS_MAX, "time", value);
}

/* Reads a time in milliseconds, or null (a measure that was not taken):
 * *present says which, and *value is 0 for null. */
static bool reader_optional_milliseconds(struct json_reader *reader, double *value,
                                   bool *present)
{
    static const char null[] = "null";
    reader_skip_space(reader);
    if (reader->length - reader->position >= sizeof null - 1 &&
        memcmp(reader->text + reader->position, null, sizeof null - 1) == 0) {
        reader->position += sizeof null - 1;
        *value = 0;
        *present = false;
        return true;
    }
    *present = true;
    return reader_milliseconds(reader, value);
}

/* Reads a string into one of the report's arrays, cut at a character. */
static bool reader_string_array(struct json_reader *reader, char *array,
                                size_t size)
{
    const char *text;
    size_t length;

    if (!reader_string(reader, &reader->value))
        return false;
    text = reader->value.data;
    length = strlen(text);

    if (length >= size) {
        length = size - 1;
        /* Back off continuation bytes to the start of the cut character. */
        while (length > 0 && ((unsigned char)text[length] & 0xC0) == 0x80)
            length--;
    }
    memcpy(array, text, length);
    array[length] = '\0';
    return true;
}

/*
 * Reads an address as the writer writes it: a string "0x" and 1 to 16
 * lowercase hex digits, the first not 0 unless it is the only one, so
 * that the same address is always the same text.
 */
static bool reader_address(struct json_reader *reader, uint64_t *value)
{
    const char *text;
    size_t digits;

    if (!reader_string(reader, &reader->value))
        return false;
    text = reader->value.data;
    digits = strspn(text + (text[0] == '0' && text[1] == 'x' ? 2 : 0),
                    "0123456789abcdef");
    if (text[0] != '0' || text[1] != 'x' || digits == 0 || digits > 16 ||
        text[2 + digits] != '\0' || (text[2] == '0' && digits > 1))
        return reader_fail(reader, "expected an address (\"0x1139\"), found "
                                   "\"%.40s\"", text);
    *value = strtoull(text + 2, NULL, 16);
    return true;
}

/* Reads a node's "address" (version 5 on): null, or one other than 0. */
static bool reader_node_address(struct json_reader *reader,
                                struct rp_frame *frame)
{
    frame->address = 0;
    if (reader->version < 5)
        return true;
    if (!reader_next_key(reader, "address"))
        return false;
    if (reader_accept_null(reader))
        return true;
    if (!reader_address(reader, &frame->address))
        return false;
    /* The writer writes an unknown address as null, never as 0x0. */
    return frame->address != 0 ||
           reader_fail(reader, "\"address\": \"0x0\", but an unknown address "
                               "is written as null");
}

/* Reads one of "objects" into the tree. */
static bool reader_object(struct json_reader *reader)
{
    struct rp_object object = {0};
    bool has_build_id;

    if (!reader_open(reader, '{') || !reader_key(reader, "name") ||
        !reader_string(reader, &reader->object) ||
        !reader_next_key(reader, "build_id") ||
        !reader_optional_string(reader, &reader->build_id, &has_build_id))
        return false;
    object.name = reader->object.data;
    object.build_id = has_build_id ? reader->build_id.data : NULL;
    if (object.name[0] == '\0')
        return reader_fail(reader, "an object without a name");
    if (has_build_id &&
        (object.build_id[0] == '\0' || strlen(object.build_id) % 2 != 0 ||
         object.build_id[strspn(object.build_id, "0123456789abcdef")] != '\0'))
        return reader_fail(reader, "build ID \"%.40s\" is not lowercase hex "
                                   "bytes", object.build_id);
    if (!reader_next_key(reader, "text_start") ||
        !reader_address(reader, &object.text_start) ||
        !reader_next_key(reader, "text_end") ||
        !reader_address(reader, &object.text_end) ||
        !reader_next_key(reader, "text_offset") ||
        !reader_address(reader, &object.text_offset) ||
        !reader_close(reader, '}'))
        return false;
    if (object.text_end < object.text_start)
        return reader_fail(reader, "object %.40s ends before it starts",
                           object.name);
    if (rp_calltree_object(reader->tree, object.name) != NULL)
        return reader_fail(reader, "object %.40s is listed twice", object.name);
    if (rp_calltree_add_object(reader->tree, &object) != 0)
        return reader_fail(reader, "out of memory");
    return true;
}

/* Reads "objects" (version 5 on). */
static bool reader_objects(struct json_reader *reader)
{
    if (reader->version < 5)
        return true;
    if (!reader_next_key(reader, "objects") || !reader_open(reader, '['))
        return false;
    reader_skip_space(reader);
    if (reader_peek(reader) != ']') {
        do {
            if (!reader_object(reader))
                return false;
        } while (reader_accept(reader, ','));
    }
    return reader_close(reader, ']');
}

/* Whether frame is the root's: the writer writes no other at the root. */
static bool frame_is_root(const struct json_reader *reader,
                          const struct rp_frame *frame)
{
    const struct rp_frame *root =
        rp_calltree_frame(reader->tree, RP_FRAME_ROOT);

    return strcmp(frame->function, root->function) == 0 &&
           frame->object == NULL && frame->file == NULL && frame->line == 0 &&
           frame->address == 0;
}

/* The samples of a node, and of them those on the CPU (0 when the
 * report does not say). */
struct reader_counts {
    uint64_t total, self, cpu_total, cpu_self;
};

/* Reads "cpu_total" and "cpu_self" when the report has them, each at
 * most its wall count. */
static bool reader_node_cpu(struct json_reader *reader, struct reader_counts *counts)
{
    if (!reader->cpu_known)
        return true;
    if (!reader_next_key(reader, "cpu_total") ||
        !reader_uint64(reader, &counts->cpu_total) ||
        !reader_next_key(reader, "cpu_self") || !reader_uint64(reader, &counts->cpu_self))
        return false;
    if (counts->cpu_total > counts->total || counts->cpu_self > counts->self)
        return reader_fail(reader, "more samples on the CPU than in all");
    return true;
}

/* Reads the frame members of a node, up to and including its counts. */
static bool reader_node_frame(struct json_reader *reader,
                              struct rp_frame *frame, struct reader_counts *counts)
{
    if (!reader_key(reader, "function") ||
        !reader_string(reader, &reader->function) ||
        !reader_next_key(reader, "object") ||
        !reader_optional_string(reader, &reader->object, &reader->has_object) ||
        !reader_next_key(reader, "file") ||
        !reader_optional_string(reader, &reader->file, &reader->has_file) ||
        !reader_next_key(reader, "line"))
        return false;
    frame->function = reader->function.data;
    frame->object = reader->has_object ? reader->object.data : NULL;
    frame->file = reader->has_file ? reader->file.data : NULL;
    frame->line = 0;
    frame->inlined = false;
    if (!reader_accept_null(reader)) {
        if (!reader_count_int(reader, &frame->line))
            return false;
        /* The writer writes an unknown line as null, never as 0. */
        if (frame->line == 0)
            return reader_fail(reader, "\"line\": 0, but an unknown line "
                                       "is written as null");
    }
    /* Version 5 on: only an inlined frame has it, always true. */
    if (reader->version >= 5 && reader_next_key_is(reader, "inlined")) {
        if (!reader_next_key(reader, "inlined") || !reader_true(reader))
            return false;
        frame->inlined = true;
    }
    return reader_node_address(reader, frame) &&
           reader_next_key(reader, "total") && reader_uint64(reader, &counts->total) &&
           reader_next_key(reader, "self") && reader_uint64(reader, &counts->self) &&
           reader_node_cpu(reader, counts);
}

/* Gives node the next number, in the order rp_render_json lists nodes. */
static bool reader_number_node(struct json_reader *reader,
                               const struct rp_calltree_node *node)
{
    if (reader->node_count == reader->node_capacity) {
        size_t capacity = reader->node_capacity ? reader->node_capacity * 2
                                                : 256;
        const struct rp_calltree_node **nodes =
            rp_heap_realloc(reader->nodes, capacity * sizeof *nodes);

        if (nodes == NULL)
            return reader_fail(reader, "out of memory");
        reader->nodes = nodes;
        reader->node_capacity = capacity;
    }
    reader->nodes[reader->node_count++] = node;
    return true;
}

/*
 * Reads one node and, recursively, its children; depth is the number of
 * frames from the root to the node (0: the root itself), whose parent is
 * parent. The recursion is bounded by JSON_NESTING_MAX, as each level
 * opens an object and an array. Children enter the tree in the order read,
 * each with its self weight, and each total is checked to be self plus the
 * children's totals (and so for the samples on the CPU), so the tree gets
 * exactly the totals the file gives. Sets *counts to the node's.
 */
static bool reader_node(struct json_reader *reader,
                        const struct rp_calltree_node *parent, size_t depth,
                        struct reader_counts *counts)
{
    const struct rp_calltree_node *node;
    struct rp_frame frame;
    uint64_t sum, cpu_sum;

    *counts = (struct reader_counts){0, 0, 0, 0};
    if (!reader_open(reader, '{') || !reader_node_frame(reader, &frame, counts))
        return false;
    if (depth == 0) {
        if (!frame_is_root(reader, &frame))
            return reader_fail(reader, "the root must be \"[request]\" with "
                                       "no object, file or line");
    } else {
        uint32_t id = rp_calltree_intern(reader->tree, &frame);

        if (id == RP_FRAME_ROOT)
            return reader_fail(reader, "out of memory");
        /* add_stack would merge the two, and the totals with them. */
        if (rp_calltree_child(reader->tree, parent, id) != NULL)
            return reader_fail(reader, "the same frame twice among siblings");
        reader->path[depth - 1] = id;
    }
    int added = reader->cpu_known
                    ? rp_calltree_add_stack_cpu(reader->tree, reader->path, depth,
                                                counts->self, counts->cpu_self)
                    : rp_calltree_add_stack(reader->tree, reader->path, depth, counts->self);
    if (added != 0)
        return reader_fail(reader, "out of memory");
    node = depth == 0 ? rp_calltree_root(reader->tree)
                      : rp_calltree_child(reader->tree, parent,
                                          reader->path[depth - 1]);
    if (!reader_number_node(reader, node))
        return false;

    if (!reader_next_key(reader, "children") || !reader_open(reader, '['))
        return false;
    sum = counts->self;
    cpu_sum = counts->cpu_self;
    reader_skip_space(reader);
    if (reader_peek(reader) != ']') {
        do {
            struct reader_counts child;

            if (!reader_node(reader, node, depth + 1, &child))
                return false;
            if (child.total > UINT64_MAX - sum)
                return reader_fail(reader, "counts out of range");
            sum += child.total;
            cpu_sum += child.cpu_total; /* at most child.total: no overflow */
        } while (reader_accept(reader, ','));
    }
    if (!reader_close(reader, ']') || !reader_close(reader, '}'))
        return false;
    if (sum != counts->total)
        return reader_fail(reader,
                           "total %" PRIu64 " is not self plus the children's "
                           "totals, %" PRIu64,
                           counts->total, sum);
    if (cpu_sum != counts->cpu_total)
        return reader_fail(reader,
                           "cpu_total %" PRIu64 " is not cpu_self plus the "
                           "children's, %" PRIu64,
                           counts->cpu_total, cpu_sum);
    return true;
}

/* Reads "format" and "version", which tell a report from any other JSON,
 * and the version of reqprof that wrote it (version 4 on). */
static bool reader_header(struct json_reader *reader, struct rp_report *report)
{
    uint64_t version;

    reader_skip_space(reader);
    if (reader_peek(reader) != '{')
        return reader_fail(reader, "not a reqprof report (not a JSON object)");
    if (!reader_open(reader, '{') || !reader_string(reader, &reader->key) ||
        strcmp(reader->key.data, "format") != 0 ||
        !reader_expect(reader, ':') || !reader_string(reader, &reader->value) ||
        strcmp(reader->value.data, RP_REPORT_JSON_FORMAT) != 0) {
        /* Whichever step stopped (say, "expected a string"), the reason to
         * give is that this is not our file: replace its message. */
        reader->failed = false;
        return reader_fail(reader, "not a reqprof report (no \"format\": \""
                                   RP_REPORT_JSON_FORMAT "\" at the start)");
    }
    if (!reader_next_key(reader, "version") || !reader_uint64(reader, &version))
        return false;
    if (version < 1 || version > RP_REPORT_JSON_VERSION)
        return reader_fail(reader,
                           "report version %" PRIu64 " is not supported "
                           "(this reqprof reads versions 1 to %d)",
                           version, RP_REPORT_JSON_VERSION);
    reader->version = version;
    return version < 4 ||
           (reader_next_key(reader, "reqprof") &&
            reader_string_array(reader, report->reqprof_version,
                                sizeof report->reqprof_version));
}

/* Reads the "request" object. */
static bool reader_request(struct json_reader *reader,
                           struct rp_report *report)
{
    return reader_next_key(reader, "request") && reader_open(reader, '{') &&
           reader_key(reader, "method") &&
           reader_string_array(reader, report->method,
                               sizeof report->method) &&
           reader_next_key(reader, "path") &&
           reader_string_array(reader, report->path, sizeof report->path) &&
           reader_next_key(reader, "status") &&
           reader_count_int(reader, &report->status) &&
           reader_next_key(reader, "start_unix_us") &&
           reader_int64(reader, &report->start_unix_us) &&
           reader_next_key(reader, "duration_ms") &&
           reader_milliseconds(reader, &report->duration_ms) &&
           reader_next_key(reader, "cpu_ms") &&
           reader_optional_milliseconds(reader, &report->cpu_ms, &report->cpu_measured) &&
           reader_next_key(reader, "request_bytes") &&
           reader_uint64(reader, &report->request_bytes) &&
           reader_next_key(reader, "response_bytes") &&
           reader_uint64(reader, &report->response_bytes) &&
           reader_close(reader, '}');
}

/* Reads one point of the timeline, [µs, node number, weight], and the
 * weight's samples on the CPU after it when the report has them. */
static bool reader_point(struct json_reader *reader, uint64_t *time_us,
                         uint64_t *node, uint64_t *weight, uint64_t *cpu_weight)
{
    *cpu_weight = 0;
    if (!reader_open(reader, '[') || !reader_uint64(reader, time_us) ||
        !reader_expect(reader, ',') || !reader_uint64(reader, node) ||
        !reader_expect(reader, ',') || !reader_uint64(reader, weight) ||
        (reader->cpu_known &&
         (!reader_expect(reader, ',') || !reader_uint64(reader, cpu_weight))) ||
        !reader_close(reader, ']'))
        return false;
    if (*time_us > UINT64_MAX / 1000)
        return reader_fail(reader, "timeline time out of range");
    if (*node >= reader->node_count)
        return reader_fail(reader,
                           "timeline names node %" PRIu64 " of %zu", *node,
                           reader->node_count);
    if (*weight == 0 || *weight > UINT32_MAX)
        return reader_fail(reader, "timeline weight out of range");
    if (*cpu_weight > *weight)
        return reader_fail(reader, "timeline point with more samples on the CPU than in all");
    return true;
}

/*
 * Reads the timeline: null, or its points in order of time, no more than
 * the writer keeps and with no more samples than the tree holds.
 */
static bool reader_timeline(struct json_reader *reader, uint64_t samples)
{
    uint64_t previous = 0, sum = 0, count = 0;

    if (reader_accept_null(reader))
        return true;
    if (!reader_open(reader, '['))
        return false;
    reader_skip_space(reader);
    if (reader_peek(reader) != ']') {
        do {
            uint64_t time_us, node, weight, cpu_weight;

            if (!reader_point(reader, &time_us, &node, &weight, &cpu_weight))
                return false;
            if (time_us < previous)
                return reader_fail(reader, "timeline goes back in time");
            if (++count > RP_TIMELINE_MAX)
                return reader_fail(reader, "more than %d timeline points",
                                   RP_TIMELINE_MAX);
            sum += weight;
            if (sum > samples)
                return reader_fail(reader, "timeline holds more samples "
                                           "than the tree");
            if (rp_calltree_timeline_add(reader->tree, reader->nodes[node],
                                         time_us * 1000, weight, cpu_weight) != 0)
                return reader_fail(reader, "out of memory");
            previous = time_us;
        } while (reader_accept(reader, ','));
    }
    return reader_close(reader, ']');
}

/*
 * Reads "attribution" (version 3 on): the shared samples, which only a
 * report that has some is written with, and their share, which must be
 * theirs over samples as the writer rounds it.
 */
static bool reader_attribution(struct json_reader *reader,
                               struct rp_report *report)
{
    double fraction, expected, last_decimal = 1;

    if (!reader_next_key(reader, "attribution") || !reader_open(reader, '{') ||
        !reader_key(reader, "shared_samples") ||
        !reader_uint64(reader, &report->shared_samples) ||
        !reader_next_key(reader, "shared_fraction") ||
        !reader_decimal(reader, 1, "shared_fraction", &fraction) ||
        !reader_close(reader, '}'))
        return false;
    if (report->shared_samples == 0)
        return reader_fail(reader, "\"shared_samples\": 0, but a report "
                                   "without any has no \"attribution\"");
    if (report->shared_samples > report->samples)
        return reader_fail(reader,
                           "shared_samples %" PRIu64 " is more than the "
                           "%" PRIu64 " samples",
                           report->shared_samples, report->samples);
    expected = rp_shared_share(report->shared_samples, report->samples);
    for (int i = 0; i < RP_JSON_FRACTION_DECIMALS; i++)
        last_decimal /= 10;
    /* Half the last decimal, and a little for the binary fractions. */
    if (fabs(fraction - expected) > last_decimal / 2 + 1e-9)
        return reader_fail(reader, "shared_fraction %.*f is not shared_samples "
                                   "over samples, %.*f",
                           RP_JSON_FRACTION_DECIMALS, fraction,
                           RP_JSON_FRACTION_DECIMALS, expected);
    return true;
}

/* Reads one wait of "waits": {peer, kind, calls, ms, bytes}. */
static bool reader_wait(struct json_reader *reader, struct rp_report_wait *wait)
{
    if (!reader_open(reader, '{') || !reader_key(reader, "peer") ||
        !reader_string_array(reader, wait->peer, sizeof wait->peer) ||
        !reader_next_key(reader, "kind") ||
        !reader_string_array(reader, wait->kind, sizeof wait->kind) ||
        !reader_next_key(reader, "calls") || !reader_uint64(reader, &wait->calls) ||
        !reader_next_key(reader, "ms") || !reader_milliseconds(reader, &wait->ms) ||
        !reader_next_key(reader, "bytes") || !reader_uint64(reader, &wait->bytes) ||
        !reader_close(reader, '}'))
        return false;
    if (wait->calls == 0)
        return reader_fail(reader, "a wait of 0 calls on \"%.40s\"", wait->peer);
    return true;
}

/*
 * Reads "waits", which only a report with waits has (and none written
 * before waits were recorded): at least one, at most RP_REPORT_WAITS_MAX.
 */
static bool reader_waits(struct json_reader *reader, struct rp_report *report)
{
    if (!reader_next_key(reader, "waits") || !reader_open(reader, '['))
        return false;
    do {
        if (report->wait_count == RP_REPORT_WAITS_MAX)
            return reader_fail(reader, "more than %d waits", RP_REPORT_WAITS_MAX);
        if (!reader_wait(reader, &report->waits[report->wait_count++]))
            return false;
    } while (reader_accept(reader, ','));
    return reader_close(reader, ']');
}

/* The samples under the root's "[shared: N requests]" children. */
static uint64_t reader_tree_shared_samples(const struct rp_calltree *tree)
{
    uint64_t shared = 0;

    for (const struct rp_calltree_node *child =
             rp_calltree_root(tree)->first_child;
         child != NULL; child = child->next_sibling)
        if (rp_frame_is_shared(rp_calltree_frame(tree, child->frame)))
            shared += child->total;
    return shared;
}

/* Reads "cpu_samples" (version 6 on): null says the nodes and points do
 * not have theirs, as a tree read from an older report does not. */
static bool reader_cpu_samples(struct json_reader *reader, uint64_t *cpu_samples)
{
    if (reader->version < 6)
        return true;
    if (!reader_next_key(reader, "cpu_samples"))
        return false;
    if (reader_accept_null(reader))
        return true;
    reader->cpu_known = true;
    rp_calltree_set_cpu_known(reader->tree);
    return reader_uint64(reader, cpu_samples);
}

/* Reads everything after the request: process, sampling and tree. */
static bool reader_rest(struct json_reader *reader, struct rp_report *report)
{
    struct reader_counts root;
    uint64_t cpu_samples = 0;

    if (!reader_next_key(reader, "process") || !reader_open(reader, '{') ||
        !reader_key(reader, "pid") || !reader_count_int(reader, &report->pid) ||
        !reader_next_key(reader, "program") ||
        !reader_string_array(reader, report->program,
                             sizeof report->program) ||
        !reader_close(reader, '}') ||
        !reader_next_key(reader, "interval_ms") ||
        !reader_milliseconds(reader, &report->interval_ms) ||
        !reader_next_key(reader, "samples") ||
        !reader_uint64(reader, &report->samples) ||
        !reader_cpu_samples(reader, &cpu_samples) ||
        !reader_next_key(reader, "samples_dropped") ||
        !reader_uint64(reader, &report->samples_dropped))
        return false;
    report->requests = 1;
    if (reader->version >= 2) {
        if (!reader_next_key(reader, "requests") ||
            !reader_uint64(reader, &report->requests))
            return false;
        if (report->requests == 0)
            return reader_fail(reader, "\"requests\": 0, but a report "
                                       "covers at least one");
    }
    /* Version 3 has it always, version 4 on only with shared samples. */
    if ((reader->version == 3 ||
         (reader->version >= 4 && reader_next_key_is(reader, "attribution"))) &&
        !reader_attribution(reader, report))
        return false;
    if (reader->version >= 5 && reader_next_key_is(reader, "waits") &&
        !reader_waits(reader, report))
        return false;
    if (!reader_objects(reader) || !reader_next_key(reader, "root") ||
        !reader_node(reader, NULL, 0, &root))
        return false;
    if (report->samples != root.total)
        return reader_fail(reader,
                           "samples is %" PRIu64 " but the tree holds %" PRIu64,
                           report->samples, root.total);
    if (cpu_samples != root.cpu_total)
        return reader_fail(reader,
                           "cpu_samples is %" PRIu64 " but the tree holds %" PRIu64,
                           cpu_samples, root.cpu_total);
    /* The tree must hold what "attribution" says, or share nothing
     * without it: version 4 on leaves it out when nothing is shared, and a
     * report of any version is written back as the current version. */
    if (reader_tree_shared_samples(reader->tree) != report->shared_samples)
        return reader_fail(reader,
                           "the tree's [shared] nodes hold %" PRIu64
                           " samples but attribution says %" PRIu64,
                           reader_tree_shared_samples(reader->tree),
                           report->shared_samples);
    if (reader->version >= 2 &&
        (!reader_next_key(reader, "timeline") ||
         !reader_timeline(reader, root.total)))
        return false;
    if (!reader_close(reader, '}'))
        return false;
    reader_skip_space(reader);
    if (reader_peek(reader) != -1)
        return reader_fail(reader, "unexpected data after the report");
    return true;
}

int rp_report_from_json(const char *text, size_t length,
                        struct rp_report *report, char *error,
                        size_t error_size)
{
    struct json_reader reader = {
        .text = text,
        .length = length,
        .line = 1,
        .error = error,
        .error_size = error_size,
    };
    bool ok;

    memset(report, 0, sizeof *report);
    if (error_size > 0)
        error[0] = '\0';
    rp_buffer_init(&reader.key);
    rp_buffer_init(&reader.value);
    rp_buffer_init(&reader.function);
    rp_buffer_init(&reader.object);
    rp_buffer_init(&reader.file);
    rp_buffer_init(&reader.build_id);
    reader.c_locale = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
    reader.tree = report->tree = rp_calltree_new();
    if (reader.c_locale == (locale_t)0 || report->tree == NULL)
        reader_fail(&reader, "out of memory");

    ok = !reader.failed && reader_header(&reader, report) &&
         reader_request(&reader, report) && reader_rest(&reader, report);
    if (!ok)
        rp_report_release(report);

    if (reader.c_locale != (locale_t)0)
        freelocale(reader.c_locale);
    rp_buffer_free(&reader.key);
    rp_buffer_free(&reader.value);
    rp_buffer_free(&reader.function);
    rp_buffer_free(&reader.object);
    rp_buffer_free(&reader.file);
    rp_buffer_free(&reader.build_id);
    rp_heap_free(reader.nodes);
    return ok ? 0 : -1;
}
