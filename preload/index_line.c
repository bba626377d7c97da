/* index.tsv lines; see index_line.h. */
#include "index_line.h"

#include <string.h>

/* Bytes of the line besides the path, the method and the file name: the
 * numbers at their longest and the tabs. */
#define INDEX_LINE_NUMBERS_MAX 203
/* Fields before the file's (docs/report-format.md). */
#define INDEX_FIELDS_BEFORE_FILE 8

/* Whether a path byte is written as %XX: it would split the line or the
 * fields, or is the escape character itself. */
static bool index_byte_escaped(unsigned char byte)
{
    return byte < 0x21 || byte == 0x7f || byte == '%';
}

static char *index_put_text(char *out, const char *text, size_t length)
{
    memcpy(out, text, length);
    return out + length;
}

static char *index_put_path(char *out, const char *path, size_t length)
{
    static const char hex[] = "0123456789ABCDEF";

    for (size_t i = 0; i < length; i++) {
        unsigned char byte = (unsigned char)path[i];

        if (!index_byte_escaped(byte)) {
            *out++ = (char)byte;
            continue;
        }
        *out++ = '%';
        *out++ = hex[byte >> 4];
        *out++ = hex[byte & 0xf];
    }
    return out;
}

/* Nanoseconds as milliseconds with three decimals, rounded. */
static char *index_put_ms(char *out, uint64_t nanoseconds)
{
    return rp_format_fixed(out, nanoseconds / 1000 + (nanoseconds % 1000 >= 500), 3);
}

void rp_index_line_append(struct rp_buffer *lines,
                          const struct rp_index_line *line)
{
    size_t method_length = strlen(line->method);
    size_t file_length = strlen(line->file);
    char *start = rp_buffer_reserve(lines, INDEX_LINE_NUMBERS_MAX +
                                               method_length +
                                               3 * line->path_length +
                                               file_length);
    char *out = start;

    if (start == NULL)
        return;
    out = rp_format_int(out, line->start_unix_us);
    *out++ = '\t';
    out = rp_format_int(out, line->pid);
    *out++ = '\t';
    out = index_put_text(out, line->method, method_length);
    *out++ = '\t';
    out = index_put_path(out, line->path, line->path_length);
    *out++ = '\t';
    out = rp_format_int(out, line->status);
    *out++ = '\t';
    out = index_put_ms(out, line->duration_ns);
    *out++ = '\t';
    if (line->cpu_measured)
        out = index_put_ms(out, line->cpu_ns);
    else
        out = index_put_text(out, RP_INDEX_UNMEASURED,
                             sizeof RP_INDEX_UNMEASURED - 1);
    *out++ = '\t';
    out = rp_format_uint(out, line->samples);
    *out++ = '\t';
    out = index_put_text(out, line->file, file_length);
    /* After the file, so that lines keep the fields' numbers of older
     * versions, and readers of those (cut -f9) still find the file; each
     * new column goes at the end. */
    *out++ = '\t';
    out = rp_format_uint(out, line->shared_samples);
    *out++ = '\t';
    out = index_put_ms(out, line->wait_ns);
    *out++ = '\n';
    rp_buffer_commit(lines, (size_t)(out - start));
}

const char *rp_index_line_file(const char *line, const char *end,
                               size_t *length)
{
    const char *tab;

    for (int field = 0; field < INDEX_FIELDS_BEFORE_FILE; field++) {
        line = memchr(line, '\t', (size_t)(end - line));
        if (line == NULL)
            return NULL;
        line++;
    }
    tab = memchr(line, '\t', (size_t)(end - line));
    *length = (size_t)((tab != NULL ? tab : end) - line);
    return line;
}
