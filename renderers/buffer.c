/*
 * The growable output buffer every renderer writes to.
 *
 * The error is sticky, as in jemalloc's prof_sys.c writer: once an
 * allocation fails, every later append does nothing, and the caller checks
 * failed once at the end instead of after each append.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "heap.h"
#include "report.h"

/* The first allocation: one small report fits without growing. */
#define BUFFER_INITIAL_CAPACITY 4096

void rp_buffer_init(struct rp_buffer *buffer)
{
    memset(buffer, 0, sizeof *buffer);
}

void rp_buffer_free(struct rp_buffer *buffer)
{
    rp_heap_free(buffer->data);
    rp_buffer_init(buffer);
}

void rp_buffer_reset(struct rp_buffer *buffer)
{
    buffer->failed = false;
    rp_buffer_truncate(buffer, 0);
}

void rp_buffer_truncate(struct rp_buffer *buffer, size_t length)
{
    if (buffer->data == NULL || length > buffer->length)
        return;
    buffer->length = length;
    buffer->data[length] = '\0';
}

/* Makes room for extra more bytes and the NUL; false (and failed) if not. */
static bool buffer_reserve(struct rp_buffer *buffer, size_t extra)
{
    size_t capacity = buffer->capacity ? buffer->capacity
                                       : BUFFER_INITIAL_CAPACITY;
    char *data;

    if (buffer->failed)
        return false;
    if (extra >= SIZE_MAX / 2 - buffer->length) {
        buffer->failed = true;
        return false;
    }
    if (buffer->length + extra < buffer->capacity)
        return true;
    while (buffer->length + extra >= capacity)
        capacity *= 2;
    data = rp_heap_realloc(buffer->data, capacity);
    if (data == NULL) {
        buffer->failed = true;
        return false;
    }
    buffer->data = data;
    buffer->capacity = capacity;
    return true;
}

char *rp_buffer_reserve(struct rp_buffer *buffer, size_t size)
{
    return buffer_reserve(buffer, size) ? buffer->data + buffer->length : NULL;
}

void rp_buffer_commit(struct rp_buffer *buffer, size_t length)
{
    buffer->length += length;
    buffer->data[buffer->length] = '\0';
}

void rp_buffer_append(struct rp_buffer *buffer, const char *data, size_t length)
{
    if (!buffer_reserve(buffer, length))
        return;
    memcpy(buffer->data + buffer->length, data, length);
    buffer->length += length;
    buffer->data[buffer->length] = '\0';
}

void rp_buffer_puts(struct rp_buffer *buffer, const char *text)
{
    rp_buffer_append(buffer, text, strlen(text));
}

void rp_buffer_printf(struct rp_buffer *buffer, const char *format, ...)
{
    va_list arguments;
    int length;

    /* Measure first, then format into the room made for it. */
    va_start(arguments, format);
    length = vsnprintf(NULL, 0, format, arguments);
    va_end(arguments);
    if (length < 0) {
        buffer->failed = true;
        return;
    }
    if (!buffer_reserve(buffer, (size_t)length))
        return;
    va_start(arguments, format);
    vsnprintf(buffer->data + buffer->length, (size_t)length + 1, format,
              arguments);
    va_end(arguments);
    buffer->length += (size_t)length;
}
