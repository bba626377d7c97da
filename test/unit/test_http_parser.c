/*
 * Tests of preload/http_parser.c.
 *
 * The kernel may cut a message anywhere, so every stream here is parsed
 * three ways: whole, cut in two at every byte boundary, and one byte at a
 * time. The events (with offsets counted from the start of the stream), the
 * return values and the final state must not depend on the cuts.
 *
 * That also sets the parser's two ways of reading a head against each
 * other: fed whole, a head goes through the line parsers; a byte at a time,
 * through the byte machine alone; cut in two, through both, one after the
 * other, with the cut inside a name, a CRLF, a number...
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "http_parser.h"
#include "unit.h"

/* Length of a string literal. */
#define LEN(literal) (sizeof(literal) - 1)

#define RECORDER_EVENTS 32

/* An event as the callback saw it, with the parser's public fields. */
struct recorded_event {
    enum rp_http_event kind;
    size_t offset; /* from the start of the stream, not of the fed piece */
    char method[RP_HTTP_METHOD_MAX];
    char target[RP_HTTP_TARGET_MAX];
    bool target_truncated;
    int status;
    uint64_t message_bytes;
    enum rp_http_state state;
};

/* The callback's context: every event, in order. */
struct recorder {
    struct recorded_event events[RECORDER_EVENTS];
    size_t count;
    bool overflowed; /* more events than fit: a test failure in itself */
    size_t base;     /* stream offset of the piece being fed */
};

static void record_event(void *context, enum rp_http_event kind,
                         const struct rp_http_parser *parser, size_t offset)
{
    struct recorder *recorder = context;
    struct recorded_event *event;

    if (recorder->count == RECORDER_EVENTS) {
        recorder->overflowed = true;
        return;
    }
    event = &recorder->events[recorder->count++];
    event->kind = kind;
    event->offset = recorder->base + offset;
    memcpy(event->method, parser->method, sizeof event->method);
    memcpy(event->target, parser->target, sizeof event->target);
    event->target_truncated = parser->target_truncated;
    event->status = parser->status;
    event->message_bytes = parser->message_bytes;
    event->state = parser->state;
}

static const char *event_name(enum rp_http_event kind)
{
    switch (kind) {
    case RP_HTTP_EVENT_MESSAGE_BEGIN:
        return "MESSAGE_BEGIN";
    case RP_HTTP_EVENT_HEADERS_COMPLETE:
        return "HEADERS_COMPLETE";
    case RP_HTTP_EVENT_MESSAGE_COMPLETE:
        return "MESSAGE_COMPLETE";
    }
    return "?";
}

/* A stream of bytes in one direction, and how the parser is set up. */
struct stream {
    enum rp_http_direction direction;
    bool head; /* rp_http_parser_expect_head(true) before the first byte */
    const char *data;
    size_t len;
};

/* What parsing a stream one way produced. */
struct outcome {
    struct rp_http_parser parser; /* after the last feed, to go on with */
    struct recorder recorder;
    int result; /* -1 if any feed returned -1, else 0 */
};

/* Feeds data to an outcome's parser, continuing the stream at base 0. */
static int outcome_feed(struct outcome *outcome, const char *data, size_t len)
{
    outcome->recorder.base = 0;
    return rp_http_parser_feed(&outcome->parser, data, len, record_event,
                               &outcome->recorder);
}

/* Feeds len bytes from a heap copy of exactly that size, so that valgrind
 * or AddressSanitizer sees any read past the piece the parser was given. */
static int feed_piece(struct outcome *outcome, const char *data, size_t len)
{
    char *piece = malloc(len);
    int result;

    if (piece == NULL)
        abort();
    memcpy(piece, data, len);
    result = rp_http_parser_feed(&outcome->parser, piece, len, record_event,
                                 &outcome->recorder);
    free(piece);
    return result;
}

/*
 * Parses a stream in pieces of piece bytes, or, when piece is 0, in two
 * pieces cut at byte cut.
 */
static void parse_stream(const struct stream *stream, size_t cut, size_t piece,
                         struct outcome *outcome)
{
    size_t start = 0;

    memset(outcome, 0, sizeof *outcome);
    rp_http_parser_init(&outcome->parser, stream->direction);
    if (stream->head)
        rp_http_parser_expect_head(&outcome->parser, true);
    while (start < stream->len) {
        size_t end = piece ? start + piece : (start < cut ? cut : stream->len);

        if (end > stream->len)
            end = stream->len;
        outcome->recorder.base = start;
        if (feed_piece(outcome, stream->data + start, end - start) != 0)
            outcome->result = -1;
        start = end;
    }
}

/* Reports a failure at the test's line rather than this file's helpers. */
#define STREAM_FAIL(line, ...)                                               \
    do {                                                                     \
        fprintf(stderr, "  %s:%d: ", __FILE__, (line));                      \
        fprintf(stderr, __VA_ARGS__);                                        \
        fputc('\n', stderr);                                                 \
        unit_current_failures++;                                             \
    } while (0)

static bool events_equal(const struct recorded_event *a,
                         const struct recorded_event *b)
{
    return a->kind == b->kind && a->offset == b->offset &&
           !strcmp(a->method, b->method) && !strcmp(a->target, b->target) &&
           a->target_truncated == b->target_truncated &&
           a->status == b->status && a->message_bytes == b->message_bytes &&
           a->state == b->state;
}

/* Whether another way of feeding produced exactly what the whole feed did;
 * how describes that way in the failure message. */
static bool outcomes_equal(int line, const char *how, size_t cut,
                           const struct outcome *whole,
                           const struct outcome *other)
{
    size_t i;

    if (other->result != whole->result ||
        other->parser.state != whole->parser.state ||
        other->parser.message_bytes != whole->parser.message_bytes ||
        other->recorder.count != whole->recorder.count) {
        STREAM_FAIL(line,
                    "%s %zu: result %d state %d bytes %" PRIu64
                    " events %zu, whole: %d %d %" PRIu64 " %zu",
                    how, cut, other->result, other->parser.state,
                    other->parser.message_bytes, other->recorder.count,
                    whole->result, whole->parser.state,
                    whole->parser.message_bytes, whole->recorder.count);
        return false;
    }
    for (i = 0; i < whole->recorder.count; i++) {
        const struct recorded_event *a = &whole->recorder.events[i];
        const struct recorded_event *b = &other->recorder.events[i];

        if (!events_equal(a, b)) {
            STREAM_FAIL(line,
                        "%s %zu: event %zu is %s@%zu \"%s\" %d, whole: "
                        "%s@%zu \"%s\" %d",
                        how, cut, i, event_name(b->kind), b->offset,
                        b->target, b->status, event_name(a->kind), a->offset,
                        a->target, a->status);
            return false;
        }
    }
    return true;
}

/* An event a test expects; fields that are NULL or -1 are not checked. */
struct expected_event {
    enum rp_http_event kind;
    size_t offset;
    const char *method;
    const char *target;
    int status;
};

#define BEGIN_AT(offset) {RP_HTTP_EVENT_MESSAGE_BEGIN, (offset), NULL, NULL, -1}
#define REQUEST_HEADERS_AT(offset, method, target)                           \
    {RP_HTTP_EVENT_HEADERS_COMPLETE, (offset), (method), (target), 0}
#define REQUEST_COMPLETE_AT(offset, method, target)                          \
    {RP_HTTP_EVENT_MESSAGE_COMPLETE, (offset), (method), (target), 0}
#define RESPONSE_HEADERS_AT(offset, status)                                  \
    {RP_HTTP_EVENT_HEADERS_COMPLETE, (offset), "", "", (status)}
#define RESPONSE_COMPLETE_AT(offset, status)                                 \
    {RP_HTTP_EVENT_MESSAGE_COMPLETE, (offset), "", "", (status)}
/* The three events of a whole message: its first byte, the last of its
 * head and its last. */
#define REQUEST_EVENTS(begin, head_end, end, method, target)                 \
    BEGIN_AT(begin), REQUEST_HEADERS_AT(head_end, method, target),           \
        REQUEST_COMPLETE_AT(end, method, target)
#define RESPONSE_EVENTS(begin, head_end, end, status)                        \
    BEGIN_AT(begin), RESPONSE_HEADERS_AT(head_end, status),                  \
        RESPONSE_COMPLETE_AT(end, status)

/* Compares recorded events with the expected ones. */
static void check_events(int line, const struct recorder *recorder,
                         const struct expected_event *expected, size_t count)
{
    size_t i;

    if (recorder->overflowed)
        STREAM_FAIL(line, "more than %d events", RECORDER_EVENTS);
    if (recorder->count != count)
        STREAM_FAIL(line, "expected %zu events, got %zu", count,
                    recorder->count);
    for (i = 0; i < count && i < recorder->count; i++) {
        const struct recorded_event *got = &recorder->events[i];
        const struct expected_event *want = &expected[i];

        if (got->kind != want->kind || got->offset != want->offset)
            STREAM_FAIL(line, "event %zu: expected %s@%zu, got %s@%zu", i,
                        event_name(want->kind), want->offset,
                        event_name(got->kind), got->offset);
        if (want->method && strcmp(want->method, got->method))
            STREAM_FAIL(line, "event %zu: method \"%s\", expected \"%s\"", i,
                        got->method, want->method);
        if (want->target && strcmp(want->target, got->target))
            STREAM_FAIL(line, "event %zu: target \"%s\", expected \"%s\"", i,
                        got->target, want->target);
        if (want->status >= 0 && want->status != got->status)
            STREAM_FAIL(line, "event %zu: status %d, expected %d", i,
                        got->status, want->status);
    }
}

/* message_bytes at the end of headers and of a message must be the bytes
 * from the message's first byte through the event's byte. */
static void check_message_bytes(int line, const struct recorder *recorder)
{
    size_t begin = 0, i;

    for (i = 0; i < recorder->count; i++) {
        const struct recorded_event *event = &recorder->events[i];

        if (event->kind == RP_HTTP_EVENT_MESSAGE_BEGIN)
            begin = event->offset;
        else if (event->message_bytes != event->offset - begin + 1)
            STREAM_FAIL(line, "event %zu: message_bytes %" PRIu64
                        ", expected %zu", i, event->message_bytes,
                        event->offset - begin + 1);
    }
}

/*
 * Parses a stream whole into *whole and checks its events, result and final
 * state; then checks that every cut in two and the one-byte-at-a-time feed
 * give the same outcome.
 */
static void check_stream(int line, const struct stream *stream,
                         const struct expected_event *expected, size_t count,
                         int result, enum rp_http_state state,
                         struct outcome *whole)
{
    static struct outcome other;
    size_t cut;

    parse_stream(stream, stream->len, 0, whole);
    check_events(line, &whole->recorder, expected, count);
    check_message_bytes(line, &whole->recorder);
    if (whole->result != result)
        STREAM_FAIL(line, "result %d, expected %d", whole->result, result);
    if (whole->parser.state != state)
        STREAM_FAIL(line, "state %d, expected %d", whole->parser.state,
                    state);
    for (cut = 1; cut < stream->len; cut++) {
        parse_stream(stream, cut, 0, &other);
        if (!outcomes_equal(line, "cut at", cut, whole, &other))
            break;
    }
    parse_stream(stream, 0, 1, &other);
    outcomes_equal(line, "bytewise, piece", 1, whole, &other);
}

#define CHECK_STREAM(stream, expected, result, state, whole)                 \
    check_stream(__LINE__, (stream), (expected),                             \
                 sizeof(expected) / sizeof((expected)[0]), (result), (state), \
                 (whole))

/* Outcomes are large; tests share these instead of growing the stack. */
static struct outcome whole, pieces;

UNIT_TEST(test_request_simple_get)
{
#define GET "GET /index.html?q=1 HTTP/1.1\r\nHost: example.com\r\n" \
            "Accept: */*\r\n\r\n"
    static const struct stream stream = {RP_HTTP_DIRECTION_REQUEST, false, GET,
                                         LEN(GET)};
    static const struct expected_event expected[] = {
        BEGIN_AT(0),
        REQUEST_HEADERS_AT(LEN(GET) - 1, "GET", "/index.html?q=1"),
        REQUEST_COMPLETE_AT(LEN(GET) - 1, "GET", "/index.html?q=1"),
    };

    CHECK_STREAM(&stream, expected, 0, RP_HTTP_STATE_IDLE, &whole);
    EXPECT_INT_EQ(LEN(GET), whole.parser.message_bytes);
    EXPECT_TRUE(!whole.recorder.events[2].target_truncated);
#undef GET
}

UNIT_TEST(test_request_content_length_body)
{
    /* Odd case and whitespace around the value; the request that follows
     * proves the body ended where Content-Length said. */
#define HEAD "POST /upload HTTP/1.1\r\nHost: a\r\n" \
             "content-LENGTH: \t 11 \r\n\r\n"
#define BODY "hello world"
#define NEXT "GET /next HTTP/1.0\r\n\r\n"
    static const char data[] = HEAD BODY NEXT;
    static const struct stream stream = {RP_HTTP_DIRECTION_REQUEST, false, data,
                                         LEN(data)};
    static const struct expected_event expected[] = {
        BEGIN_AT(0),
        REQUEST_HEADERS_AT(LEN(HEAD) - 1, "POST", "/upload"),
        REQUEST_COMPLETE_AT(LEN(HEAD BODY) - 1, "POST", "/upload"),
        BEGIN_AT(LEN(HEAD BODY)),
        REQUEST_HEADERS_AT(LEN(data) - 1, "GET", "/next"),
        REQUEST_COMPLETE_AT(LEN(data) - 1, "GET", "/next"),
    };

    CHECK_STREAM(&stream, expected, 0, RP_HTTP_STATE_IDLE, &whole);
    EXPECT_INT_EQ(LEN(HEAD BODY), whole.recorder.events[2].message_bytes);
#undef HEAD
#undef BODY
#undef NEXT
}

UNIT_TEST(test_request_chunked_body)
{
    /* Chunked wins over Content-Length; extensions (with BWS and a quoted
     * value), an uppercase hex size and trailer fields must all be
     * skipped. */
#define HEAD "POST /c HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n" \
             "Content-Length: 3\r\n\r\n"
#define BODY "5;name=value\r\nhello\r\n6 ; x=\"y\"\r\n world\r\n" \
             "A\r\n0123456789\r\n0\r\nX-Checksum: abc\r\nX-Other: d\r\n\r\n"
#define NEXT "GET /after HTTP/1.1\r\n\r\n"
    static const char data[] = HEAD BODY NEXT;
    static const struct stream stream = {RP_HTTP_DIRECTION_REQUEST, false, data,
                                         LEN(data)};
    static const struct expected_event expected[] = {
        BEGIN_AT(0),
        REQUEST_HEADERS_AT(LEN(HEAD) - 1, "POST", "/c"),
        REQUEST_COMPLETE_AT(LEN(HEAD BODY) - 1, "POST", "/c"),
        BEGIN_AT(LEN(HEAD BODY)),
        REQUEST_HEADERS_AT(LEN(data) - 1, "GET", "/after"),
        REQUEST_COMPLETE_AT(LEN(data) - 1, "GET", "/after"),
    };

    CHECK_STREAM(&stream, expected, 0, RP_HTTP_STATE_IDLE, &whole);
#undef HEAD
#undef BODY
#undef NEXT
}

UNIT_TEST(test_request_chunked_without_trailers)
{
    /* Leading zeros make a long size that still fits; an empty list
     * element may follow the coding. */
#define HEAD "PUT /p HTTP/1.1\r\ntransfer-encoding: Chunked,\r\n\r\n"
#define BODY "00000000000000000000003\r\nabc\r\n0\r\n\r\n"
    static const char data[] = HEAD BODY;
    static const struct stream stream = {RP_HTTP_DIRECTION_REQUEST, false, data,
                                         LEN(data)};
    static const struct expected_event expected[] = {
        BEGIN_AT(0),
        REQUEST_HEADERS_AT(LEN(HEAD) - 1, "PUT", "/p"),
        REQUEST_COMPLETE_AT(LEN(data) - 1, "PUT", "/p"),
    };

    CHECK_STREAM(&stream, expected, 0, RP_HTTP_STATE_IDLE, &whole);
#undef HEAD
#undef BODY
}

UNIT_TEST(test_request_keep_alive)
{
    /* One request per read: offsets are indexes in each read's buffer. */
    static const char *const requests[] = {
        "GET /one HTTP/1.1\r\nHost: a\r\n\r\n",
        "POST /two HTTP/1.1\r\nContent-Length: 4\r\n\r\nbody",
        "DELETE /three HTTP/1.1\r\n\r\n",
    };
    static const char *const methods[] = {"GET", "POST", "DELETE"};
    static const char *const targets[] = {"/one", "/two", "/three"};
    struct recorder recorder = {0};
    struct rp_http_parser parser;
    size_t i;

    rp_http_parser_init(&parser, RP_HTTP_DIRECTION_REQUEST);
    for (i = 0; i < 3; i++) {
        size_t len = strlen(requests[i]);
        struct recorded_event *events = &recorder.events[recorder.count];

        EXPECT_INT_EQ(0, rp_http_parser_feed(&parser, requests[i], len,
                                             record_event, &recorder));
        EXPECT_INT_EQ(3 * (i + 1), recorder.count);
        EXPECT_INT_EQ(RP_HTTP_EVENT_MESSAGE_BEGIN, events[0].kind);
        EXPECT_INT_EQ(0, events[0].offset);
        EXPECT_INT_EQ(RP_HTTP_EVENT_MESSAGE_COMPLETE, events[2].kind);
        EXPECT_INT_EQ(len - 1, events[2].offset);
        EXPECT_INT_EQ(len, events[2].message_bytes);
        EXPECT_STR_EQ(methods[i], events[2].method);
        EXPECT_STR_EQ(targets[i], events[2].target);
        EXPECT_INT_EQ(RP_HTTP_STATE_IDLE, parser.state);
    }
}

UNIT_TEST(test_request_pipelined)
{
    /* Three requests in one read: each event's offset tells which request
     * a byte belongs to. */
#define FIRST "GET /a HTTP/1.1\r\nHost: x\r\n\r\n"
#define SECOND "POST /b HTTP/1.1\r\nContent-Length: 5\r\n\r\n12345"
#define SECOND_HEAD "POST /b HTTP/1.1\r\nContent-Length: 5\r\n\r\n"
#define THIRD "HEAD /c HTTP/1.1\r\n\r\n"
    static const char data[] = FIRST SECOND THIRD;
    static const struct stream stream = {RP_HTTP_DIRECTION_REQUEST, false, data,
                                         LEN(data)};
    static const struct expected_event expected[] = {
        BEGIN_AT(0),
        REQUEST_HEADERS_AT(LEN(FIRST) - 1, "GET", "/a"),
        REQUEST_COMPLETE_AT(LEN(FIRST) - 1, "GET", "/a"),
        BEGIN_AT(LEN(FIRST)),
        REQUEST_HEADERS_AT(LEN(FIRST SECOND_HEAD) - 1, "POST", "/b"),
        REQUEST_COMPLETE_AT(LEN(FIRST SECOND) - 1, "POST", "/b"),
        BEGIN_AT(LEN(FIRST SECOND)),
        REQUEST_HEADERS_AT(LEN(data) - 1, "HEAD", "/c"),
        REQUEST_COMPLETE_AT(LEN(data) - 1, "HEAD", "/c"),
    };

    CHECK_STREAM(&stream, expected, 0, RP_HTTP_STATE_IDLE, &whole);
#undef FIRST
#undef SECOND
#undef SECOND_HEAD
#undef THIRD
}

UNIT_TEST(test_request_empty_lines_between)
{
    /* A CRLF some clients send after a body is not a message. */
#define FIRST "POST / HTTP/1.1\r\nContent-Length: 2\r\n\r\nok"
#define SECOND "GET /b HTTP/1.1\r\n\r\n"
    static const char data[] = FIRST "\r\n" SECOND;
    static const struct stream stream = {RP_HTTP_DIRECTION_REQUEST, false, data,
                                         LEN(data)};
    static const struct expected_event expected[] = {
        BEGIN_AT(0),
        REQUEST_HEADERS_AT(LEN(FIRST) - 3, "POST", "/"),
        REQUEST_COMPLETE_AT(LEN(FIRST) - 1, "POST", "/"),
        BEGIN_AT(LEN(FIRST "\r\n")),
        REQUEST_HEADERS_AT(LEN(data) - 1, "GET", "/b"),
        REQUEST_COMPLETE_AT(LEN(data) - 1, "GET", "/b"),
    };

    CHECK_STREAM(&stream, expected, 0, RP_HTTP_STATE_IDLE, &whole);
#undef FIRST
#undef SECOND
}

UNIT_TEST(test_bare_lf_line_endings)
{
#define REQUEST_HEAD "GET /lf HTTP/1.1\nHost: x\r\nContent-Length: 3\n\n"
#define REQUEST REQUEST_HEAD "abc"
#define RESPONSE_HEAD "HTTP/1.1 200 OK\nTransfer-Encoding: chunked\n\n"
#define RESPONSE RESPONSE_HEAD "3\nabc\n0\nX: y\n\n"
    static const struct stream request = {RP_HTTP_DIRECTION_REQUEST, false,
                                          REQUEST, LEN(REQUEST)};
    static const struct expected_event request_events[] = {
        BEGIN_AT(0),
        REQUEST_HEADERS_AT(LEN(REQUEST_HEAD) - 1, "GET", "/lf"),
        REQUEST_COMPLETE_AT(LEN(REQUEST) - 1, "GET", "/lf"),
    };
    static const struct stream response = {RP_HTTP_DIRECTION_RESPONSE, false,
                                           RESPONSE, LEN(RESPONSE)};
    static const struct expected_event response_events[] = {
        BEGIN_AT(0),
        RESPONSE_HEADERS_AT(LEN(RESPONSE_HEAD) - 1, 200),
        RESPONSE_COMPLETE_AT(LEN(RESPONSE) - 1, 200),
    };

    CHECK_STREAM(&request, request_events, 0, RP_HTTP_STATE_IDLE, &whole);
    CHECK_STREAM(&response, response_events, 0, RP_HTTP_STATE_IDLE, &whole);
#undef REQUEST_HEAD
#undef REQUEST
#undef RESPONSE_HEAD
#undef RESPONSE
}

UNIT_TEST(test_request_long_target_truncated)
{
    static char data[1024];
    static const char prefix[] = "GET /";
    static const char suffix[] = " HTTP/1.1\r\n\r\n";
    /* Target lengths around the limit: 511 bytes fit, 512 do not. */
    static const size_t lengths[] = {RP_HTTP_TARGET_MAX - 1, RP_HTTP_TARGET_MAX,
                                     600};
    size_t i;

    for (i = 0; i < 3; i++) {
        size_t len = LEN(prefix) + lengths[i] - 1 + LEN(suffix);
        struct stream stream = {RP_HTTP_DIRECTION_REQUEST, false, data, len};
        const struct expected_event expected[] = {
            BEGIN_AT(0),
            {RP_HTTP_EVENT_HEADERS_COMPLETE, len - 1, "GET", NULL, 0},
            {RP_HTTP_EVENT_MESSAGE_COMPLETE, len - 1, "GET", NULL, 0},
        };
        const struct recorded_event *complete;

        memcpy(data, prefix, LEN(prefix));
        memset(data + LEN(prefix), 'x', lengths[i] - 1);
        memcpy(data + LEN(prefix) + lengths[i] - 1, suffix, LEN(suffix));
        CHECK_STREAM(&stream, expected, 0, RP_HTTP_STATE_IDLE, &whole);
        complete = &whole.recorder.events[2];
        EXPECT_INT_EQ(RP_HTTP_TARGET_MAX - 1, strlen(complete->target));
        EXPECT_INT_EQ(0, memcmp(complete->target, "/xxx", 4));
        EXPECT_INT_EQ(lengths[i] >= RP_HTTP_TARGET_MAX,
                      complete->target_truncated);
    }
}

UNIT_TEST(test_request_longest_method)
{
#define REQUEST "ABCDEFGHIJKLM_- * HTTP/1.1\r\n\r\n"
    static const struct stream stream = {RP_HTTP_DIRECTION_REQUEST, false,
                                         REQUEST, LEN(REQUEST)};
    static const struct expected_event expected[] = {
        BEGIN_AT(0),
        REQUEST_HEADERS_AT(LEN(REQUEST) - 1, "ABCDEFGHIJKLM_-", "*"),
        REQUEST_COMPLETE_AT(LEN(REQUEST) - 1, "ABCDEFGHIJKLM_-", "*"),
    };

    EXPECT_INT_EQ(RP_HTTP_METHOD_MAX - 1, strlen("ABCDEFGHIJKLM_-"));
    CHECK_STREAM(&stream, expected, 0, RP_HTTP_STATE_IDLE, &whole);
#undef REQUEST
}

UNIT_TEST(test_response_content_length)
{
#define FIRST_HEAD "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n" \
                   "Content-Length: 5\r\n\r\n"
#define FIRST FIRST_HEAD "hello"
#define SECOND "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"
    static const char data[] = FIRST SECOND;
    static const struct stream stream = {RP_HTTP_DIRECTION_RESPONSE, false, data,
                                         LEN(data)};
    static const struct expected_event expected[] = {
        BEGIN_AT(0),
        RESPONSE_HEADERS_AT(LEN(FIRST_HEAD) - 1, 200),
        RESPONSE_COMPLETE_AT(LEN(FIRST) - 1, 200),
        BEGIN_AT(LEN(FIRST)),
        RESPONSE_HEADERS_AT(LEN(data) - 1, 404),
        RESPONSE_COMPLETE_AT(LEN(data) - 1, 404),
    };

    CHECK_STREAM(&stream, expected, 0, RP_HTTP_STATE_IDLE, &whole);
#undef FIRST_HEAD
#undef FIRST
#undef SECOND
}

UNIT_TEST(test_response_chunked_many_feeds)
{
#define HEAD "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
#define BODY "1a\r\nabcdefghijklmnopqrstuvwxyz\r\n3;last\r\nend\r\n0\r\n\r\n"
#define NEXT "HTTP/1.1 204 No Content\r\n\r\n"
    static const char data[] = HEAD BODY NEXT;
    static const struct stream stream = {RP_HTTP_DIRECTION_RESPONSE, false, data,
                                         LEN(data)};
    static const struct expected_event expected[] = {
        BEGIN_AT(0),
        RESPONSE_HEADERS_AT(LEN(HEAD) - 1, 200),
        RESPONSE_COMPLETE_AT(LEN(HEAD BODY) - 1, 200),
        BEGIN_AT(LEN(HEAD BODY)),
        RESPONSE_HEADERS_AT(LEN(data) - 1, 204),
        RESPONSE_COMPLETE_AT(LEN(data) - 1, 204),
    };
    size_t piece;

    CHECK_STREAM(&stream, expected, 0, RP_HTTP_STATE_IDLE, &whole);
    /* Writes of a few bytes each, as a server streaming a response does. */
    for (piece = 2; piece <= 7; piece++) {
        parse_stream(&stream, 0, piece, &pieces);
        outcomes_equal(__LINE__, "pieces of", piece, &whole, &pieces);
    }
#undef HEAD
#undef BODY
#undef NEXT
}

UNIT_TEST(test_response_without_body)
{
    /* 204 and 304 have no body whatever Content-Length says; the 200 that
     * follows shows that none was expected. */
#define FIRST "HTTP/1.1 204 No Content\r\nContent-Length: 10\r\n\r\n"
#define SECOND "HTTP/1.1 304 Not Modified\r\nETag: \"x\"\r\n" \
               "Content-Length: 1234\r\n\r\n"
#define THIRD_HEAD "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n"
#define THIRD THIRD_HEAD "ok"
    static const char data[] = FIRST SECOND THIRD;
    static const struct stream stream = {RP_HTTP_DIRECTION_RESPONSE, false, data,
                                         LEN(data)};
    static const struct expected_event expected[] = {
        BEGIN_AT(0),
        RESPONSE_HEADERS_AT(LEN(FIRST) - 1, 204),
        RESPONSE_COMPLETE_AT(LEN(FIRST) - 1, 204),
        BEGIN_AT(LEN(FIRST)),
        RESPONSE_HEADERS_AT(LEN(FIRST SECOND) - 1, 304),
        RESPONSE_COMPLETE_AT(LEN(FIRST SECOND) - 1, 304),
        BEGIN_AT(LEN(FIRST SECOND)),
        RESPONSE_HEADERS_AT(LEN(FIRST SECOND THIRD_HEAD) - 1, 200),
        RESPONSE_COMPLETE_AT(LEN(data) - 1, 200),
    };

    CHECK_STREAM(&stream, expected, 0, RP_HTTP_STATE_IDLE, &whole);
#undef FIRST
#undef SECOND
#undef THIRD_HEAD
#undef THIRD
}

UNIT_TEST(test_response_to_head)
{
    /* The HEAD applies to the first response only. */
#define FIRST "HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n"
#define SECOND_HEAD "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n"
#define SECOND SECOND_HEAD "ok"
    static const char data[] = FIRST SECOND;
    static const struct stream stream = {RP_HTTP_DIRECTION_RESPONSE, true, data,
                                         LEN(data)};
    static const struct expected_event expected[] = {
        BEGIN_AT(0),
        RESPONSE_HEADERS_AT(LEN(FIRST) - 1, 200),
        RESPONSE_COMPLETE_AT(LEN(FIRST) - 1, 200),
        BEGIN_AT(LEN(FIRST)),
        RESPONSE_HEADERS_AT(LEN(FIRST SECOND_HEAD) - 1, 200),
        RESPONSE_COMPLETE_AT(LEN(data) - 1, 200),
    };
    struct recorder recorder = {0};
    struct rp_http_parser parser;

    CHECK_STREAM(&stream, expected, 0, RP_HTTP_STATE_IDLE, &whole);

    /* Learning of a HEAD request while the previous response is still half
     * written must not change that response. */
    rp_http_parser_init(&parser, RP_HTTP_DIRECTION_RESPONSE);
    EXPECT_INT_EQ(0, rp_http_parser_feed(&parser, SECOND, 10, record_event,
                                         &recorder));
    rp_http_parser_expect_head(&parser, true);
    EXPECT_INT_EQ(0, rp_http_parser_feed(&parser, SECOND + 10, LEN(SECOND) - 10,
                                         record_event, &recorder));
    EXPECT_INT_EQ(0, rp_http_parser_feed(&parser, FIRST, LEN(FIRST),
                                         record_event, &recorder));
    EXPECT_INT_EQ(6, recorder.count);
    EXPECT_INT_EQ(RP_HTTP_EVENT_MESSAGE_COMPLETE, recorder.events[2].kind);
    EXPECT_INT_EQ(LEN(SECOND) - 10 - 1, recorder.events[2].offset);
    EXPECT_INT_EQ(RP_HTTP_EVENT_MESSAGE_COMPLETE, recorder.events[5].kind);
    EXPECT_INT_EQ(LEN(FIRST) - 1, recorder.events[5].offset);
    EXPECT_INT_EQ(RP_HTTP_STATE_IDLE, parser.state);
#undef FIRST
#undef SECOND_HEAD
#undef SECOND
}

UNIT_TEST(test_response_continue_then_final)
{
#define CONTINUE "HTTP/1.1 100 Continue\r\n\r\n"
#define FINAL_HEAD "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n"
#define FINAL FINAL_HEAD "ok"
    static const char data[] = CONTINUE FINAL;
    static const struct stream stream = {RP_HTTP_DIRECTION_RESPONSE, false, data,
                                         LEN(data)};
    static const struct expected_event expected[] = {
        BEGIN_AT(0),
        RESPONSE_HEADERS_AT(LEN(CONTINUE) - 1, 100),
        RESPONSE_COMPLETE_AT(LEN(CONTINUE) - 1, 100),
        BEGIN_AT(LEN(CONTINUE)),
        RESPONSE_HEADERS_AT(LEN(CONTINUE FINAL_HEAD) - 1, 200),
        RESPONSE_COMPLETE_AT(LEN(data) - 1, 200),
    };
    /* A HEAD still applies to the final response after an interim one. */
    static const char head_data[] = CONTINUE FINAL_HEAD FINAL;
    static const struct stream head_stream = {RP_HTTP_DIRECTION_RESPONSE, true,
                                              head_data, LEN(head_data)};
    static const struct expected_event head_expected[] = {
        BEGIN_AT(0),
        RESPONSE_HEADERS_AT(LEN(CONTINUE) - 1, 100),
        RESPONSE_COMPLETE_AT(LEN(CONTINUE) - 1, 100),
        BEGIN_AT(LEN(CONTINUE)),
        RESPONSE_HEADERS_AT(LEN(CONTINUE FINAL_HEAD) - 1, 200),
        RESPONSE_COMPLETE_AT(LEN(CONTINUE FINAL_HEAD) - 1, 200),
        BEGIN_AT(LEN(CONTINUE FINAL_HEAD)),
        RESPONSE_HEADERS_AT(LEN(CONTINUE FINAL_HEAD FINAL_HEAD) - 1, 200),
        RESPONSE_COMPLETE_AT(LEN(head_data) - 1, 200),
    };

    CHECK_STREAM(&stream, expected, 0, RP_HTTP_STATE_IDLE, &whole);
    CHECK_STREAM(&head_stream, head_expected, 0, RP_HTTP_STATE_IDLE, &whole);
#undef CONTINUE
#undef FINAL_HEAD
#undef FINAL
}

UNIT_TEST(test_response_switching_protocols)
{
#define UPGRADE "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n" \
                "Connection: Upgrade\r\n\r\n"
    /* WebSocket frames, then bytes that would look like HTTP. */
    static const char data[] = UPGRADE "\x81\x05hello\x00\xff"
                                       "HTTP/1.1 200 OK\r\n\r\n";
    static const struct stream stream = {RP_HTTP_DIRECTION_RESPONSE, false, data,
                                         LEN(data)};
    static const struct expected_event expected[] = {
        BEGIN_AT(0),
        RESPONSE_HEADERS_AT(LEN(UPGRADE) - 1, 101),
        RESPONSE_COMPLETE_AT(LEN(UPGRADE) - 1, 101),
    };

    CHECK_STREAM(&stream, expected, 0, RP_HTTP_STATE_DONE, &whole);
    EXPECT_INT_EQ(RP_HTTP_STATE_DONE, whole.recorder.events[2].state);
    EXPECT_INT_EQ(0, outcome_feed(&whole, "\x16\x03", 2));
    EXPECT_INT_EQ(0, rp_http_parser_feed_opaque(&whole.parser, 4096,
                                                record_event, &whole.recorder));
    rp_http_parser_close(&whole.parser, record_event, &whole.recorder);
    EXPECT_INT_EQ(RP_HTTP_STATE_DONE, whole.parser.state);
    EXPECT_INT_EQ(3, whole.recorder.count);
#undef UPGRADE
}

UNIT_TEST(test_response_until_close)
{
#define HEAD "HTTP/1.0 200 OK\r\nServer: t\r\n\r\n"
#define BODY "the body runs until the connection closes"
    static const char data[] = HEAD BODY;
    static const struct stream stream = {RP_HTTP_DIRECTION_RESPONSE, false, data,
                                         LEN(data)};
    static const struct expected_event expected[] = {
        BEGIN_AT(0),
        RESPONSE_HEADERS_AT(LEN(HEAD) - 1, 200),
    };
    /* A coding other than chunked last also runs until close, and wins
     * over Content-Length. */
#define ENCODED_HEAD "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n" \
                     "Content-Length: 3\r\n\r\n"
    static const char encoded[] = ENCODED_HEAD "\x1f\x8b\x08\x00\x00\x00";
    static const struct stream encoded_stream = {
        RP_HTTP_DIRECTION_RESPONSE, false, encoded, LEN(encoded)};
    static const struct expected_event encoded_expected[] = {
        BEGIN_AT(0),
        RESPONSE_HEADERS_AT(LEN(ENCODED_HEAD) - 1, 200),
    };
    const struct recorded_event *complete = &whole.recorder.events[2];

    CHECK_STREAM(&stream, expected, 0, RP_HTTP_STATE_BODY, &whole);
    EXPECT_INT_EQ(LEN(data), whole.parser.message_bytes);
    /* sendfile of the rest of the body */
    EXPECT_INT_EQ(0, rp_http_parser_feed_opaque(&whole.parser, 100,
                                                record_event, &whole.recorder));
    EXPECT_INT_EQ(2, whole.recorder.count);
    rp_http_parser_close(&whole.parser, record_event, &whole.recorder);
    EXPECT_INT_EQ(3, whole.recorder.count);
    EXPECT_INT_EQ(RP_HTTP_EVENT_MESSAGE_COMPLETE, complete->kind);
    EXPECT_INT_EQ(0, complete->offset);
    EXPECT_INT_EQ(200, complete->status);
    EXPECT_INT_EQ(LEN(data) + 100, complete->message_bytes);
    EXPECT_INT_EQ(RP_HTTP_STATE_IDLE, whole.parser.state);

    CHECK_STREAM(&encoded_stream, encoded_expected, 0, RP_HTTP_STATE_BODY,
                 &whole);
    rp_http_parser_close(&whole.parser, record_event, &whole.recorder);
    EXPECT_INT_EQ(3, whole.recorder.count);
    EXPECT_INT_EQ(LEN(encoded), complete->message_bytes);
#undef HEAD
#undef BODY
#undef ENCODED_HEAD
}

UNIT_TEST(test_close_abandons_message)
{
#define RESPONSE "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
    struct outcome *outcome = &whole;
    struct close_case {
        enum rp_http_direction direction;
        const char *data;
        size_t len;
    } cases[] = {
        /* in the headers, in a Content-Length body, in a request */
        {RP_HTTP_DIRECTION_RESPONSE, RESPONSE, 10},
        {RP_HTTP_DIRECTION_RESPONSE, RESPONSE, LEN(RESPONSE) - 1},
        {RP_HTTP_DIRECTION_REQUEST, "GET / HTTP/1.1\r\nHo", 18},
    };
    size_t i;

    for (i = 0; i < 3; i++) {
        memset(outcome, 0, sizeof *outcome);
        rp_http_parser_init(&outcome->parser, cases[i].direction);
        EXPECT_INT_EQ(0, outcome_feed(outcome, cases[i].data, cases[i].len));
        EXPECT_INT_EQ(1 + (i == 1), outcome->recorder.count);
        EXPECT_TRUE(outcome->parser.state != RP_HTTP_STATE_IDLE);
        rp_http_parser_close(&outcome->parser, record_event,
                             &outcome->recorder);
        EXPECT_INT_EQ(RP_HTTP_STATE_IDLE, outcome->parser.state);
        EXPECT_INT_EQ(1 + (i == 1), outcome->recorder.count);
    }
    /* The parser is usable again afterwards. */
    rp_http_parser_init(&outcome->parser, RP_HTTP_DIRECTION_RESPONSE);
    EXPECT_INT_EQ(0, outcome_feed(outcome, RESPONSE, 10));
    rp_http_parser_close(&outcome->parser, record_event, &outcome->recorder);
    outcome->recorder.count = 0;
    EXPECT_INT_EQ(0, outcome_feed(outcome, RESPONSE, LEN(RESPONSE)));
    EXPECT_INT_EQ(3, outcome->recorder.count);
    EXPECT_INT_EQ(LEN(RESPONSE), outcome->recorder.events[2].message_bytes);
#undef RESPONSE
}

UNIT_TEST(test_opaque_completes_content_length_body)
{
#define HEAD "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n"
#define NEXT "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
    static const char data[] = HEAD "0123456789";
    static const struct stream stream = {RP_HTTP_DIRECTION_RESPONSE, false, data,
                                         LEN(data)};
    static const struct expected_event expected[] = {
        BEGIN_AT(0),
        RESPONSE_HEADERS_AT(LEN(HEAD) - 1, 200),
    };
    const struct recorded_event *events = whole.recorder.events;

    /* Headers and ten bytes with write, the rest with sendfile. */
    CHECK_STREAM(&stream, expected, 0, RP_HTTP_STATE_BODY, &whole);
    EXPECT_INT_EQ(0, rp_http_parser_feed_opaque(&whole.parser, 900,
                                                record_event, &whole.recorder));
    EXPECT_INT_EQ(2, whole.recorder.count);
    EXPECT_INT_EQ(0, rp_http_parser_feed_opaque(&whole.parser, 90,
                                                record_event, &whole.recorder));
    EXPECT_INT_EQ(3, whole.recorder.count);
    EXPECT_INT_EQ(RP_HTTP_EVENT_MESSAGE_COMPLETE, events[2].kind);
    EXPECT_INT_EQ(0, events[2].offset);
    EXPECT_INT_EQ(LEN(HEAD) + 1000, events[2].message_bytes);
    EXPECT_INT_EQ(RP_HTTP_STATE_IDLE, whole.parser.state);
    /* The next response follows as usual. */
    EXPECT_INT_EQ(0, outcome_feed(&whole, NEXT, LEN(NEXT)));
    EXPECT_INT_EQ(6, whole.recorder.count);
    EXPECT_INT_EQ(LEN(NEXT) - 1, events[5].offset);

    /* One byte more than the body holds cannot be placed. */
    parse_stream(&stream, LEN(data), 0, &whole);
    EXPECT_INT_EQ(-1, rp_http_parser_feed_opaque(&whole.parser, 991,
                                                 record_event, &whole.recorder));
    EXPECT_INT_EQ(RP_HTTP_STATE_ERROR, whole.parser.state);
    EXPECT_INT_EQ(2, whole.recorder.count);
#undef HEAD
#undef NEXT
}

UNIT_TEST(test_opaque_inside_chunk_data)
{
#define HEAD "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n400\r\n"
#define TAIL "\r\n0\r\n\r\n"
    static const struct stream stream = {RP_HTTP_DIRECTION_RESPONSE, false, HEAD,
                                         LEN(HEAD)};
    static const struct expected_event expected[] = {
        BEGIN_AT(0),
        RESPONSE_HEADERS_AT(LEN(HEAD) - 6, 200),
    };
    const struct recorded_event *events = whole.recorder.events;

    /* A chunk whose data is sent with sendfile. */
    CHECK_STREAM(&stream, expected, 0, RP_HTTP_STATE_BODY, &whole);
    EXPECT_INT_EQ(0, rp_http_parser_feed_opaque(&whole.parser, 0x400,
                                                record_event, &whole.recorder));
    EXPECT_INT_EQ(0, outcome_feed(&whole, TAIL, LEN(TAIL)));
    EXPECT_INT_EQ(3, whole.recorder.count);
    EXPECT_INT_EQ(LEN(TAIL) - 1, events[2].offset);
    EXPECT_INT_EQ(LEN(HEAD) + 0x400 + LEN(TAIL), events[2].message_bytes);

    /* The chunk framing cannot be guessed. */
    parse_stream(&stream, LEN(HEAD), 0, &whole);
    EXPECT_INT_EQ(0, rp_http_parser_feed_opaque(&whole.parser, 0x400,
                                                record_event, &whole.recorder));
    EXPECT_INT_EQ(-1, rp_http_parser_feed_opaque(&whole.parser, 2,
                                                 record_event, &whole.recorder));
    EXPECT_INT_EQ(RP_HTTP_STATE_ERROR, whole.parser.state);
#undef HEAD
#undef TAIL
}

UNIT_TEST(test_opaque_outside_body_is_error)
{
    static const char head[] = "HTTP/1.1 200 OK\r\nContent-Le";
    static const char ok[] = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";

    memset(&whole, 0, sizeof whole);
    rp_http_parser_init(&whole.parser, RP_HTTP_DIRECTION_RESPONSE);
    EXPECT_INT_EQ(0, outcome_feed(&whole, head, LEN(head)));
    EXPECT_INT_EQ(-1, rp_http_parser_feed_opaque(&whole.parser, 10,
                                                 record_event, &whole.recorder));
    EXPECT_INT_EQ(RP_HTTP_STATE_ERROR, whole.parser.state);
    EXPECT_INT_EQ(-1, outcome_feed(&whole, ok, LEN(ok)));
    EXPECT_INT_EQ(1, whole.recorder.count);

    /* Between messages there is no body either. */
    memset(&whole, 0, sizeof whole);
    rp_http_parser_init(&whole.parser, RP_HTTP_DIRECTION_RESPONSE);
    EXPECT_INT_EQ(-1, rp_http_parser_feed_opaque(&whole.parser, 1,
                                                 record_event, &whole.recorder));
    EXPECT_INT_EQ(RP_HTTP_STATE_ERROR, whole.parser.state);
    EXPECT_INT_EQ(0, whole.recorder.count);
}

UNIT_TEST(test_not_http_at_first_byte)
{
    /* A TLS ClientHello record, binary, lowercase noise: refused at the
     * first byte, before any event. */
    static const char tls[] = "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"
                              "GET / HTTP/1.1\r\n\r\n";
    static const char binary[] = "\x00\x01\x02\x03";
    static const char lowercase[] = "get / HTTP/1.1\r\n\r\n";
    static const struct stream streams[] = {
        {RP_HTTP_DIRECTION_REQUEST, false, tls, LEN(tls)},
        {RP_HTTP_DIRECTION_REQUEST, false, binary, LEN(binary)},
        {RP_HTTP_DIRECTION_REQUEST, false, lowercase, LEN(lowercase)},
        {RP_HTTP_DIRECTION_RESPONSE, false, tls, LEN(tls)},
        {RP_HTTP_DIRECTION_RESPONSE, false, lowercase, LEN(lowercase)},
    };
    static const struct expected_event expected[] = {BEGIN_AT(0)};
    size_t i;

    for (i = 0; i < sizeof streams / sizeof streams[0]; i++)
        check_stream(__LINE__, &streams[i], expected, 0, -1,
                     RP_HTTP_STATE_ERROR, &whole);
}

UNIT_TEST(test_malformed_after_begin)
{
    /* Each begins like a message, so MESSAGE_BEGIN is reported, then turns
     * out not to be one. */
    static const char *const requests[] = {
        "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
        "GET / HTTP/1.1\r\nContent-Length: 12a\r\n\r\n",
        "GET / HTTP/1.1\r\nContent-Length: 1 2\r\n\r\n",
        "GET / HTTP/1.1\r\nContent-Length:\r\n\r\n",
        "GET / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
        "GET / HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\n",
        "GET / HTTP/1.1\r\nContent-Length: 5\r\n  6\r\n\r\n",
        "POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\nxxxx",
        "ABCDEFGHIJKLMNOP / HTTP/1.1\r\n\r\n", /* 16 chars */
        "Get / HTTP/1.1\r\n\r\n",
        "GET  HTTP/1.1\r\n\r\n",                /* no target */
        "GET /\r\n",
        "GET / HTTP/1.10\r\n\r\n",
        "GET / HTTP/1.1\rX\r\n\r\n",
        "GET / HTTP/1.1\r\nHost : x\r\n\r\n",
        "GET / HTTP/1.1\r\n\x01: x\r\n\r\n",
        "GET / HTTP/1.1\r\n: no name\r\n\r\n",
        "GET / HTTP/1.1\r\nX: a\rb\r\n\r\n",        /* bare CR in a value */
        "GET /a\x7f HTTP/1.1\r\n\r\n",
        "GET /a\tb HTTP/1.1\r\n\r\n",
        "GET / HTTP/1.1\r\nContent-Length: 18446744073709551616\r\n\r\n",
        "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n gzip\r\n\r\n",
    };
    static const char *const responses[] = {
        "HTTP/2 200 OK\r\n\r\n",
        "HTTP/1.1 20 OK\r\n\r\n",
        "HTTP/1.1 2000 OK\r\n\r\n",
        "HTTP/1.1 099 Odd\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
        "HTTPS/1.1 200 OK\r\n\r\n",
        "HTTP/1.1 200OK\r\n\r\n",
        "HTTP/1.1 200 OK\r\rContent-Length: 0\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 7\r\n\r\n",
    };
    static const struct expected_event expected[] = {BEGIN_AT(0)};
    struct stream stream = {RP_HTTP_DIRECTION_REQUEST, false, NULL, 0};
    size_t i;

    for (i = 0; i < sizeof requests / sizeof requests[0]; i++) {
        stream.data = requests[i];
        stream.len = strlen(requests[i]);
        CHECK_STREAM(&stream, expected, -1, RP_HTTP_STATE_ERROR, &whole);
    }
    stream.direction = RP_HTTP_DIRECTION_RESPONSE;
    for (i = 0; i < sizeof responses / sizeof responses[0]; i++) {
        stream.data = responses[i];
        stream.len = strlen(responses[i]);
        CHECK_STREAM(&stream, expected, -1, RP_HTTP_STATE_ERROR, &whole);
    }
}

UNIT_TEST(test_malformed_chunked_framing)
{
    /* Errors in the body come after the headers were reported. */
#define HEAD "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
    static const char *const bodies[] = {
        "zz\r\n",
        "11111111111111111\r\n",  /* 17 hex digits overflow 64 bits */
        "5\r\nhelloX",             /* no CRLF after the data */
        "5 x\r\nhello\r\n",      /* no ';' before an extension */
        "0\r\n\rX",              /* CR without LF ending the trailers */
    };
    static const struct expected_event expected[] = {
        BEGIN_AT(0),
        REQUEST_HEADERS_AT(LEN(HEAD) - 1, "POST", "/"),
    };
    static char data[128];
    struct stream stream = {RP_HTTP_DIRECTION_REQUEST, false, data, 0};
    size_t i;

    for (i = 0; i < sizeof bodies / sizeof bodies[0]; i++) {
        stream.len = LEN(HEAD) + strlen(bodies[i]);
        memcpy(data, HEAD, LEN(HEAD));
        memcpy(data + LEN(HEAD), bodies[i], strlen(bodies[i]));
        CHECK_STREAM(&stream, expected, -1, RP_HTTP_STATE_ERROR, &whole);
    }
#undef HEAD
}

UNIT_TEST(test_bytes_after_error_ignored)
{
    static const char good[] = "GET / HTTP/1.1\r\n\r\n";
    /* Broken after a complete request: its events stand, nothing more. */
    static const char data[] = "GET / HTTP/1.1\r\n\r\nget /x HTTP/1.1\r\n";
    static const struct stream stream = {RP_HTTP_DIRECTION_REQUEST, false, data,
                                         LEN(data)};
    static const struct expected_event expected[] = {
        BEGIN_AT(0),
        REQUEST_HEADERS_AT(LEN(good) - 1, "GET", "/"),
        REQUEST_COMPLETE_AT(LEN(good) - 1, "GET", "/"),
    };

    CHECK_STREAM(&stream, expected, -1, RP_HTTP_STATE_ERROR, &whole);
    EXPECT_INT_EQ(-1, outcome_feed(&whole, good, LEN(good)));
    EXPECT_INT_EQ(-1, outcome_feed(&whole, "", 0));
    rp_http_parser_close(&whole.parser, record_event, &whole.recorder);
    EXPECT_INT_EQ(RP_HTTP_STATE_ERROR, whole.parser.state);
    EXPECT_INT_EQ(3, whole.recorder.count);
}

UNIT_TEST(test_realistic_heads)
{
    /* What wrk sends and nginx answers (bench/bookkeeping_cost.c); a
     * browser's request, whose long lines cross the 64-byte blocks in
     * which the line parsers find line ends; a chunked response. */
#define WRK "GET /small.txt HTTP/1.1\r\nHost: 127.0.0.1:18555\r\n\r\n"
#define BROWSER                                                              \
    "GET /search?q=reqprof&lang=en HTTP/1.1\r\n"                             \
    "Host: www.example.com\r\n"                                              \
    "User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 "  \
    "Firefox/128.0\r\n"                                                      \
    "Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;"     \
    "q=0.8\r\n"                                                              \
    "Accept-Language: en-US,en;q=0.5\r\n"                                    \
    "Cookie: session=0123456789abcdef0123456789abcdef0123456789abcdef"       \
    "0123456789abcdef0123456789abcdef; theme=dark\r\n"                       \
    "Connection: keep-alive\r\n\r\n"
#define NGINX_HEAD                                                           \
    "HTTP/1.1 200 OK\r\n"                                                    \
    "Server: nginx/1.22.1\r\n"                                               \
    "Date: Sat, 21 Nov 2026 14:20:01 GMT\r\n"                                \
    "Content-Type: text/plain\r\n"                                           \
    "Content-Length: 20\r\n"                                                 \
    "Last-Modified: Sat, 21 Nov 2026 13:59:12 GMT\r\n"                       \
    "Connection: keep-alive\r\n"                                             \
    "ETag: \"6920f0b0-14\"\r\n"                                              \
    "Accept-Ranges: bytes\r\n"                                               \
    "\r\n"
#define NGINX NGINX_HEAD "0123456789abcdefghij"
#define CHUNKED_HEAD                                                         \
    "HTTP/1.1 200 OK\r\n"                                                    \
    "Content-Type: application/json\r\n"                                     \
    "Transfer-Encoding: chunked\r\n"                                         \
    "Date: Sat, 21 Nov 2026 14:20:01 GMT\r\n"                                \
    "Connection: keep-alive\r\n"                                             \
    "Keep-Alive: timeout=5\r\n\r\n"
#define CHUNKED CHUNKED_HEAD "d\r\n{\"ok\": true}\r\n0\r\n\r\n"
    static const char requests[] = WRK BROWSER;
    static const struct stream request_stream = {
        RP_HTTP_DIRECTION_REQUEST, false, requests, LEN(requests)};
    static const struct expected_event request_events[] = {
        REQUEST_EVENTS(0, LEN(WRK) - 1, LEN(WRK) - 1, "GET", "/small.txt"),
        REQUEST_EVENTS(LEN(WRK), LEN(requests) - 1, LEN(requests) - 1, "GET",
                       "/search?q=reqprof&lang=en"),
    };
    static const char responses[] = NGINX CHUNKED;
    static const struct stream response_stream = {
        RP_HTTP_DIRECTION_RESPONSE, false, responses, LEN(responses)};
    static const struct expected_event response_events[] = {
        RESPONSE_EVENTS(0, LEN(NGINX_HEAD) - 1, LEN(NGINX) - 1, 200),
        RESPONSE_EVENTS(LEN(NGINX), LEN(NGINX CHUNKED_HEAD) - 1,
                        LEN(responses) - 1, 200),
    };

    CHECK_STREAM(&request_stream, request_events, 0, RP_HTTP_STATE_IDLE, &whole);
    CHECK_STREAM(&response_stream, response_events, 0, RP_HTTP_STATE_IDLE,
                 &whole);
#undef WRK
#undef BROWSER
#undef NGINX_HEAD
#undef NGINX
#undef CHUNKED_HEAD
#undef CHUNKED
}

UNIT_TEST(test_lines_left_to_byte_machine)
{
    /* Valid lines the line parsers do not take: names with other token
     * characters than letters, digits and '-', an obs-fold after a header
     * that does not frame the body, a coding with whitespace around it. */
#define ODD_HEAD                                                             \
    "POST /odd HTTP/1.1\r\n"                                                 \
    "X_Forwarded_For: 10.0.0.1\r\n"                                          \
    "X.Custom!#$%&'*+^`|~: token characters\r\n"                             \
    "X-Folded: first\r\n \tcontinued\r\n"                                    \
    "Transfer-Encoding: \t Chunked \r\n\r\n"
#define ODD ODD_HEAD "3\r\nabc\r\n0\r\n\r\n"
    /* Content-Length values longer than the line parsers read: leading
     * zeros, and the largest value there is (a response can announce it
     * and stream forever). */
#define ZEROS_HEAD "PUT /zeros HTTP/1.1\r\n" \
                   "Content-Length: 000000000000000000003\r\n\r\n"
#define ZEROS ZEROS_HEAD "abc"
    static const char requests[] = ODD ZEROS;
    static const struct stream request_stream = {
        RP_HTTP_DIRECTION_REQUEST, false, requests, LEN(requests)};
    static const struct expected_event request_events[] = {
        REQUEST_EVENTS(0, LEN(ODD_HEAD) - 1, LEN(ODD) - 1, "POST", "/odd"),
        REQUEST_EVENTS(LEN(ODD), LEN(ODD ZEROS_HEAD) - 1, LEN(requests) - 1,
                       "PUT", "/zeros"),
    };
#define HUGE "HTTP/1.1 200 OK\r\nContent-Length: 18446744073709551615\r\n\r\n"
    static const struct stream huge_stream = {RP_HTTP_DIRECTION_RESPONSE, false,
                                              HUGE, LEN(HUGE)};
    static const struct expected_event huge_events[] = {
        BEGIN_AT(0),
        RESPONSE_HEADERS_AT(LEN(HUGE) - 1, 200),
    };

    CHECK_STREAM(&request_stream, request_events, 0, RP_HTTP_STATE_IDLE, &whole);
    CHECK_STREAM(&huge_stream, huge_events, 0, RP_HTTP_STATE_BODY, &whole);
    EXPECT_INT_EQ(0, rp_http_parser_feed_opaque(&whole.parser, UINT64_MAX - 1,
                                                record_event, &whole.recorder));
    EXPECT_INT_EQ(2, whole.recorder.count);
    EXPECT_INT_EQ(0, rp_http_parser_feed_opaque(&whole.parser, 1, record_event,
                                                &whole.recorder));
    EXPECT_INT_EQ(3, whole.recorder.count);
#undef ODD_HEAD
#undef ODD
#undef ZEROS_HEAD
#undef ZEROS
#undef HUGE
}

UNIT_TEST(test_status_line_forms)
{
    /* No reason phrase, with or without its SP, and one with anything but
     * CR and LF in it. */
#define FIRST_HEAD "HTTP/1.1 200\r\nContent-Length: 2\r\n\r\n"
#define FIRST FIRST_HEAD "ok"
#define SECOND "HTTP/1.0 304 \r\n\r\n"
#define THIRD "HTTP/1.1 599 A \"reason\",\twith\x01 odd\xff bytes\r\n" \
              "Content-Length: 0\r\n\r\n"
    static const char data[] = FIRST SECOND THIRD;
    static const struct stream stream = {RP_HTTP_DIRECTION_RESPONSE, false, data,
                                         LEN(data)};
    static const struct expected_event expected[] = {
        RESPONSE_EVENTS(0, LEN(FIRST_HEAD) - 1, LEN(FIRST) - 1, 200),
        RESPONSE_EVENTS(LEN(FIRST), LEN(FIRST SECOND) - 1,
                        LEN(FIRST SECOND) - 1, 304),
        RESPONSE_EVENTS(LEN(FIRST SECOND), LEN(data) - 1, LEN(data) - 1, 599),
    };

    CHECK_STREAM(&stream, expected, 0, RP_HTTP_STATE_IDLE, &whole);
#undef FIRST_HEAD
#undef FIRST
#undef SECOND
#undef THIRD
}

UNIT_TEST(test_request_target_lengths)
{
    /* The line parsers copy a target 16 bytes a step: lengths around the
     * steps, and bytes above 0x7f, which clients send as raw UTF-8. */
    static const size_t lengths[] = {1, 2, 7, 15, 16, 17, 31, 32, 33, 48};
    static const char prefix[] = "OPTIONS ";
    static const char suffix[] = " HTTP/1.1\r\nHost: a\r\n\r\n";
    static char data[128], target[64];
    size_t i;

    for (i = 0; i < sizeof lengths / sizeof lengths[0]; i++) {
        size_t len = LEN(prefix) + lengths[i] + LEN(suffix);
        struct stream stream = {RP_HTTP_DIRECTION_REQUEST, false, data, len};
        const struct expected_event expected[] = {
            REQUEST_EVENTS(0, len - 1, len - 1, "OPTIONS", target),
        };

        memset(target, 0, sizeof target);
        target[0] = '/';
        memset(target + 1, 'a', lengths[i] - 1);
        if (lengths[i] >= 3)
            memcpy(target + lengths[i] - 2, "\xc3\xa9", 2);
        memcpy(data, prefix, LEN(prefix));
        memcpy(data + LEN(prefix), target, lengths[i]);
        memcpy(data + LEN(prefix) + lengths[i], suffix, LEN(suffix));
        CHECK_STREAM(&stream, expected, 0, RP_HTTP_STATE_IDLE, &whole);
    }
}

UNIT_TEST(test_whole_lines_agree_with_byte_machine)
{
    /* The line parsers take a line only as the byte machine would, and
     * leave it to the byte machine otherwise. Every head here, with any one
     * byte replaced by one that matters somewhere, must give the same
     * outcome fed whole, a byte at a time and in pieces of 7 bytes. */
    static const char *const requests[] = {
        "POST /upload?x=1 HTTP/1.1\r\nHost: example.com\r\n"
        "Content-Length: 5\r\nX_Under: y\r\n\r\nhelloGET / HTTP/1.1\r\n\r\n",
        "PUT /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
        "2\r\nok\r\n0\r\n\r\n",
    };
    static const char *const responses[] = {
        "HTTP/1.1 200 OK\r\nServer: nginx\r\nTransfer-Encoding: chunked\r\n"
        "Content-Type: text/plain\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
        "HTTP/1.1 204 No Content\r\nDate: x\r\n\r\n"
        "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nETag: \"a\"\r\n\r\nabc",
    };
    static const char replacements[] = {' ', '\t', '\r', '\n', ':', '\0',
                                        0x7f, (char)0x80, '_', '-', '.', ',',
                                        ';', '0', '9', 'a', 'Z', 'H'};
    static char data[256];
    size_t count = sizeof requests / sizeof requests[0] +
                   sizeof responses / sizeof responses[0];

    for (size_t m = 0; m < count; m++) {
        bool request = m < sizeof requests / sizeof requests[0];
        const char *message =
            request ? requests[m]
                    : responses[m - sizeof requests / sizeof requests[0]];
        struct stream stream = {
            request ? RP_HTTP_DIRECTION_REQUEST : RP_HTTP_DIRECTION_RESPONSE,
            false, data, strlen(message)};
        bool agreed = true;

        for (size_t at = 0; at < stream.len && agreed; at++) {
            for (size_t r = 0; r < sizeof replacements && agreed; r++) {
                memcpy(data, message, stream.len);
                data[at] = replacements[r];
                parse_stream(&stream, stream.len, 0, &whole);
                parse_stream(&stream, 0, 1, &pieces);
                agreed = outcomes_equal(__LINE__, "bytewise, replaced at",
                                        at, &whole, &pieces);
                parse_stream(&stream, 0, 7, &pieces);
                agreed = agreed && outcomes_equal(__LINE__,
                                                  "pieces of 7, replaced at",
                                                  at, &whole, &pieces);
            }
        }
    }
}

/* A request refused, or cut, inside its head: what the server will answer
 * is this request, whose method and target the parser still tells, however
 * its bytes were cut. */
UNIT_TEST(test_request_line_known_when_refused_or_cut)
{
    static const struct {
        const char *data;
        int result;          /* of the feed: refused or still arriving */
        const char *method;  /* NULL: the method was not read whole */
        const char *target;
    } cases[] = {
        {"POST /up HTTP/1.1\r\nTransfer-Encoding: chunked, gzip\r\n\r\n",
         -1, "POST", "/up"},
        {"GET /a HTTP/1.1\r\nHost: x\r\n\x01\xff: \x80\r\n\r\n", -1,
         "GET", "/a"},
        {"GET /ret\x01urn HTTP/1.1\r\n\r\n", -1, "GET", "/ret\x01urn"},
        {"GET /a\x7f HTTP/1.1\r\n\r\n", -1, "GET", "/a\x7f"},
        {"GET /x\r\n", -1, "GET", "/x"},
        {"GET /x HTTP/2.0\r\n", -1, "GET", "/x"},
        {"GET /still-arriving", 0, "GET", "/still-arriving"},
        {"GET /x HTTP/1.1\r\nX-Big: bbbbbbbb", 0, "GET", "/x"},
        {"GE", 0, NULL, NULL},
        {"GE\x01 / HTTP/1.1\r\n\r\n", -1, NULL, NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t len = strlen(cases[i].data);
        for (size_t cut = 1; cut <= len; cut++) {
            struct stream stream = {RP_HTTP_DIRECTION_REQUEST, false,
                                    cases[i].data, len};
            parse_stream(&stream, cut, 0, &pieces);
            bool known = rp_http_parser_request_line_known(&pieces.parser);
            if (pieces.result != cases[i].result ||
                known != (cases[i].method != NULL) ||
                (known && (strcmp(pieces.parser.method, cases[i].method) ||
                           strcmp(pieces.parser.target, cases[i].target))))
                UNIT_FAIL_AT("case %zu cut at %zu: result %d known %d "
                             "\"%s\" \"%s\"", i, cut, pieces.result, known,
                             pieces.parser.method, pieces.parser.target);
        }
    }
}

/* A target longer than what is kept, cut anywhere before its end: the
 * first RP_HTTP_TARGET_MAX - 1 bytes. */
UNIT_TEST(test_request_line_known_keeps_a_long_targets_start)
{
    static char request[3 * RP_HTTP_TARGET_MAX];
    memcpy(request, "GET /", 5);
    memset(request + 5, 'a', sizeof request - 5);
    for (size_t cut = 6; cut <= sizeof request; cut += 97) {
        struct stream stream = {RP_HTTP_DIRECTION_REQUEST, false, request,
                                sizeof request};
        parse_stream(&stream, cut, 0, &pieces);
        EXPECT_TRUE(rp_http_parser_request_line_known(&pieces.parser));
        EXPECT_STR_EQ("GET", pieces.parser.method);
        EXPECT_INT_EQ(RP_HTTP_TARGET_MAX - 1, strlen(pieces.parser.target));
        EXPECT_TRUE(pieces.parser.target_truncated);
    }
}

int main(void)
{
    UNIT_RUN(test_request_simple_get);
    UNIT_RUN(test_request_content_length_body);
    UNIT_RUN(test_request_chunked_body);
    UNIT_RUN(test_request_chunked_without_trailers);
    UNIT_RUN(test_request_keep_alive);
    UNIT_RUN(test_request_pipelined);
    UNIT_RUN(test_request_empty_lines_between);
    UNIT_RUN(test_bare_lf_line_endings);
    UNIT_RUN(test_request_long_target_truncated);
    UNIT_RUN(test_request_longest_method);
    UNIT_RUN(test_response_content_length);
    UNIT_RUN(test_response_chunked_many_feeds);
    UNIT_RUN(test_response_without_body);
    UNIT_RUN(test_response_to_head);
    UNIT_RUN(test_response_continue_then_final);
    UNIT_RUN(test_response_switching_protocols);
    UNIT_RUN(test_response_until_close);
    UNIT_RUN(test_close_abandons_message);
    UNIT_RUN(test_opaque_completes_content_length_body);
    UNIT_RUN(test_opaque_inside_chunk_data);
    UNIT_RUN(test_opaque_outside_body_is_error);
    UNIT_RUN(test_not_http_at_first_byte);
    UNIT_RUN(test_malformed_after_begin);
    UNIT_RUN(test_malformed_chunked_framing);
    UNIT_RUN(test_bytes_after_error_ignored);
    UNIT_RUN(test_realistic_heads);
    UNIT_RUN(test_lines_left_to_byte_machine);
    UNIT_RUN(test_status_line_forms);
    UNIT_RUN(test_request_target_lengths);
    UNIT_RUN(test_whole_lines_agree_with_byte_machine);
    UNIT_RUN(test_request_line_known_when_refused_or_cut);
    UNIT_RUN(test_request_line_known_keeps_a_long_targets_start);
    return unit_finish();
}
