/*
 * libFuzzer target for preload/http_parser.c.
 *
 * The kernel hands the parser a stream in whatever pieces it likes, so the
 * property checked is the one the parser promises: cut anywhere, a stream
 * gives the same events (kind, offset, method, target, status, bytes so
 * far), the same result and the same final state as fed whole. Each input
 * is
 *
 *   byte 0      bit 0: a response stream, not a request stream;
 *               bit 1: the first response answers HEAD
 *   bytes 1-4   seed of the cuts
 *   the rest    the stream
 *
 * and is parsed whole, in pieces of random sizes from the seed (short ones
 * more often), and, when short, a byte at a time. Every piece is fed from a
 * heap copy of exactly its size, so AddressSanitizer sees any read past it
 * (the parser loads 16 and 64 bytes at a time near the ends of buffers).
 * Then the parser must tell a request line cut or refused the same way
 * whatever the cuts (rp_http_parser_request_line_known), and what it reports
 * must be well formed: strings ended within their arrays, a status of
 * three digits, offsets inside the stream and in order.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http_parser.h"

/* Events compared per input; a stream of more messages is compared up to
 * there (its result and state still are, whole). */
#define FUZZ_EVENTS_MAX 256
/* Streams up to this long are also fed a byte at a time. */
#define FUZZ_BYTEWISE_MAX 4096

struct fuzz_event {
    enum rp_http_event kind;
    size_t offset;
    char method[RP_HTTP_METHOD_MAX];
    char target[RP_HTTP_TARGET_MAX];
    bool target_truncated;
    int status;
    uint64_t message_bytes;
    enum rp_http_state state;
};

struct fuzz_run {
    struct rp_http_parser parser;
    struct fuzz_event events[FUZZ_EVENTS_MAX];
    size_t count;  /* events seen, even past FUZZ_EVENTS_MAX */
    size_t base;   /* stream offset of the piece being fed */
    size_t length; /* of the whole stream */
    int result;    /* -1 once a feed refused */
    bool known;    /* rp_http_parser_request_line_known at the end */
    char known_method[RP_HTTP_METHOD_MAX];
    char known_target[RP_HTTP_TARGET_MAX];
};

static void fuzz_fail(const char *what, size_t index)
{
    fprintf(stderr, "fuzz_http_parser: %s (event %zu)\n", what, index);
    abort();
}

/* Whether a string is ended within its array. */
static bool fuzz_terminated(const char *text, size_t size)
{
    return memchr(text, '\0', size) != NULL;
}

static void fuzz_record(void *context, enum rp_http_event kind,
                        const struct rp_http_parser *parser, size_t offset)
{
    struct fuzz_run *run = context;
    size_t index = run->count++;

    if (!fuzz_terminated(parser->method, sizeof parser->method) ||
        !fuzz_terminated(parser->target, sizeof parser->target))
        fuzz_fail("method or target not ended within its array", index);
    /* MESSAGE_COMPLETE from a close or unseen bytes has no byte: 0. */
    if (run->base + offset >= run->length && offset != 0)
        fuzz_fail("offset outside the stream", index);
    if (kind == RP_HTTP_EVENT_HEADERS_COMPLETE &&
        parser->direction == RP_HTTP_DIRECTION_RESPONSE &&
        (parser->status < 100 || parser->status > 999))
        fuzz_fail("status of other than three digits", index);
    if (index >= FUZZ_EVENTS_MAX)
        return;
    struct fuzz_event *event = &run->events[index];
    memset(event, 0, sizeof *event);
    event->kind = kind;
    event->offset = run->base + offset;
    strcpy(event->method, parser->method);
    strcpy(event->target, parser->target);
    event->target_truncated = parser->target_truncated;
    event->status = parser->status;
    event->message_bytes = parser->message_bytes;
    event->state = parser->state;
}

/* A small generator of piece sizes: xorshift32. */
static uint32_t fuzz_next(uint32_t *state)
{
    uint32_t x = *state ? *state : 0x9e3779b9u;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return *state = x;
}

/* Parses the stream in pieces: whole when seed is NULL, a byte at a time
 * when piece_max is 1, else of random sizes from *seed. */
static void fuzz_parse(struct fuzz_run *run, uint8_t flags,
                       const uint8_t *stream, size_t length, uint32_t *seed,
                       size_t piece_max)
{
    memset(run, 0, sizeof *run);
    run->length = length;
    rp_http_parser_init(&run->parser, flags & 1 ? RP_HTTP_DIRECTION_RESPONSE
                                             : RP_HTTP_DIRECTION_REQUEST);
    if (flags & 2)
        rp_http_parser_expect_head(&run->parser, true);
    for (size_t start = 0; start < length;) {
        size_t piece = length - start;
        if (seed != NULL && piece_max == 1)
            piece = 1;
        else if (seed != NULL) {
            uint32_t r = fuzz_next(seed);
            /* Short pieces often, to cut inside tokens; long ones too. */
            size_t most = r & 1 ? 8 : piece_max;
            if (piece > 1)
                piece = 1 + (r >> 1) % (most < piece ? most : piece);
        }
        char *copy = malloc(piece);
        if (copy == NULL)
            abort();
        memcpy(copy, stream + start, piece);
        run->base = start;
        if (rp_http_parser_feed(&run->parser, copy, piece, fuzz_record, run) != 0)
            run->result = -1;
        free(copy);
        start += piece;
    }
    run->known = rp_http_parser_request_line_known(&run->parser);
    if (run->known) {
        if (!fuzz_terminated(run->parser.target, sizeof run->parser.target))
            fuzz_fail("target of a known request line not ended", run->count);
        strcpy(run->known_method, run->parser.method);
        strcpy(run->known_target, run->parser.target);
    }
}

static void fuzz_compare(const struct fuzz_run *whole,
                         const struct fuzz_run *cut)
{
    if (cut->result != whole->result)
        fuzz_fail("result differs from the whole feed's", cut->count);
    if (cut->parser.state != whole->parser.state)
        fuzz_fail("final state differs from the whole feed's", cut->count);
    if (cut->parser.message_bytes != whole->parser.message_bytes)
        fuzz_fail("message bytes differ from the whole feed's", cut->count);
    if (cut->count != whole->count)
        fuzz_fail("event count differs from the whole feed's", cut->count);
    size_t compared = whole->count < FUZZ_EVENTS_MAX ? whole->count
                                                     : FUZZ_EVENTS_MAX;
    for (size_t i = 0; i < compared; i++) {
        const struct fuzz_event *a = &whole->events[i], *b = &cut->events[i];
        if (a->kind != b->kind || a->offset != b->offset ||
            strcmp(a->method, b->method) || strcmp(a->target, b->target) ||
            a->target_truncated != b->target_truncated ||
            a->status != b->status || a->message_bytes != b->message_bytes ||
            a->state != b->state)
            fuzz_fail("event differs from the whole feed's", i);
    }
    /* A request line's method and target are only asked for while a head
     * is cut or refused; then they must not depend on the cuts. */
    if (whole->parser.direction == RP_HTTP_DIRECTION_REQUEST &&
        whole->parser.state != RP_HTTP_STATE_IDLE &&
        whole->parser.state != RP_HTTP_STATE_BODY &&
        (cut->known != whole->known ||
         (whole->known && (strcmp(cut->known_method, whole->known_method) ||
                           strcmp(cut->known_target, whole->known_target)))))
        fuzz_fail("request line known differs from the whole feed's",
                  cut->count);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct fuzz_run whole, cut;

    if (size < 5)
        return 0;
    uint8_t flags = data[0];
    uint32_t seed;
    memcpy(&seed, data + 1, sizeof seed);
    const uint8_t *stream = data + 5;
    size_t length = size - 5;

    fuzz_parse(&whole, flags, stream, length, NULL, 0);
    fuzz_parse(&cut, flags, stream, length, &seed, 64);
    fuzz_compare(&whole, &cut);
    fuzz_parse(&cut, flags, stream, length, &seed, 1024);
    fuzz_compare(&whole, &cut);
    if (length <= FUZZ_BYTEWISE_MAX) {
        fuzz_parse(&cut, flags, stream, length, &seed, 1);
        fuzz_compare(&whole, &cut);
    }
    return 0;
}
