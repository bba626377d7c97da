/*
 * HTTP/1.x message framing; see http_parser.h for the contract.
 *
 * Start lines, header fields and chunked framing go through a byte-at-a-time
 * state machine, so a message may be cut anywhere without the parser ever
 * buffering more than the method and target it reports. Body bytes of known
 * length (Content-Length, chunk data) and bodies that run until close are
 * skipped in one step per feed, which keeps the cost of a large response at
 * a few branches per write.
 *
 * Nothing here calls into libc: the parser runs inside the server's read and
 * write calls, possibly while the server holds its own locks, and must not
 * allocate, block or touch errno.
 *
 * Only the two headers that frame a body are read. Their names are matched
 * as they arrive, one byte against a literal, so no header name is stored;
 * the value of any other header is skipped however long it is.
 */
#include "http_parser.h"

/* How the body of the current message ends (body_kind). */
enum http_body_kind {
    HTTP_BODY_NONE,        /* with the header section */
    HTTP_BODY_LENGTH,      /* after Content-Length bytes */
    HTTP_BODY_CHUNKED,     /* after the last chunk and its trailer section */
    HTTP_BODY_UNTIL_CLOSE, /* when the connection closes */
};

/* The header whose field line is being read (header_kind). While its name
 * is still arriving, a kind other than OTHER means "matches so far". */
enum http_header_kind {
    HTTP_HEADER_OTHER,
    HTTP_HEADER_CONTENT_LENGTH,
    HTTP_HEADER_TRANSFER_ENCODING,
};

/* Position inside the start line and header section (head_state). */
enum http_head_state {
    HTTP_HEAD_METHOD,            /* request: method characters */
    HTTP_HEAD_TARGET,            /* request: target characters */
    HTTP_HEAD_REQUEST_VERSION,   /* request: "HTTP/1.x" */
    HTTP_HEAD_REQUEST_LINE_END,  /* request: CR or LF after the version */
    HTTP_HEAD_RESPONSE_VERSION,  /* response: "HTTP/1.x" */
    HTTP_HEAD_VERSION_SPACE,     /* response: SP after the version */
    HTTP_HEAD_STATUS,            /* response: three status digits */
    HTTP_HEAD_STATUS_END,        /* response: SP, CR or LF after them */
    HTTP_HEAD_REASON,            /* response: reason phrase */
    HTTP_HEAD_LINE_LF,           /* CR seen: LF must end the line */
    HTTP_HEAD_FIELD_START,       /* first byte of a field line or CRLF */
    HTTP_HEAD_FIELD_NAME,        /* field name up to ':' */
    HTTP_HEAD_VALUE_SKIP,        /* value of a header we do not read */
    HTTP_HEAD_LENGTH_BEFORE,     /* Content-Length: whitespace before */
    HTTP_HEAD_LENGTH_DIGITS,     /* Content-Length: digits */
    HTTP_HEAD_LENGTH_AFTER,      /* Content-Length: whitespace after */
    HTTP_HEAD_ENCODING_START,    /* Transfer-Encoding: before a coding */
    HTTP_HEAD_ENCODING_NAME,     /* Transfer-Encoding: a coding's name */
    HTTP_HEAD_ENCODING_REST,     /* Transfer-Encoding: its parameters */
    HTTP_HEAD_END_LF,            /* CR of the empty line: LF ends headers */
};

/* Position inside chunked framing (chunk_state). */
enum http_chunk_state {
    HTTP_CHUNK_SIZE_START, /* first hex digit of a chunk size */
    HTTP_CHUNK_SIZE,       /* more hex digits */
    HTTP_CHUNK_SIZE_SPACE, /* whitespace after the size */
    HTTP_CHUNK_EXTENSION,  /* ";name=value" up to the end of the line */
    HTTP_CHUNK_SIZE_LF,    /* CR seen after the size line */
    HTTP_CHUNK_DATA,       /* chunk data, remaining bytes to go */
    HTTP_CHUNK_DATA_END,   /* CR or LF after the data */
    HTTP_CHUNK_DATA_LF,    /* CR seen after the data */
    HTTP_CHUNK_TRAILER,    /* first byte of a trailer line or CRLF */
    HTTP_CHUNK_TRAILER_LINE, /* a trailer field, skipped */
    HTTP_CHUNK_END_LF,     /* CR of the final empty line */
};

/* Both start lines carry the version as this prefix and one digit. */
static const char http_version_prefix[] = "HTTP/1.";
#define HTTP_VERSION_LENGTH (sizeof(http_version_prefix) - 1 + 1)

/* Header names and the coding we look for, lowercase. */
static const char http_content_length[] = "content-length";
static const char http_transfer_encoding[] = "transfer-encoding";
static const char http_chunked[] = "chunked";

/* token_length once a coding name stopped matching "chunked". */
#define HTTP_NO_MATCH UINT16_MAX

/* ASCII only: tolower() would consult the server's locale. */
static unsigned char http_lower(unsigned char c)
{
    return c >= 'A' && c <= 'Z' ? (unsigned char)(c + ('a' - 'A')) : c;
}

static bool http_is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

static bool http_is_space(unsigned char c)
{
    return c == ' ' || c == '\t';
}

/* tchar of RFC 9110 section 5.6.2: what header names and codings are made
 * of. */
static bool http_is_token_char(unsigned char c)
{
    if (http_is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
        return true;
    switch (c) {
    case '!': case '#': case '$': case '%': case '&': case '\'': case '*':
    case '+': case '-': case '.': case '^': case '_': case '`': case '|':
    case '~':
        return true;
    default:
        return false;
    }
}

/* Methods are tokens, but real ones are uppercase: insisting on that is what
 * tells a TLS record or lowercase noise from a request after one byte. */
static bool http_is_method_char(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || c == '-' || c == '_';
}

/* The value of a hex digit, or -1. */
static int http_hex_value(unsigned char c)
{
    if (http_is_digit(c))
        return c - '0';
    c = http_lower(c);
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

static int http_parser_fail(struct http_parser *parser)
{
    parser->state = HTTP_STATE_ERROR;
    return -1;
}

void http_parser_init(struct http_parser *parser,
                      enum http_direction direction)
{
    *parser = (struct http_parser){
        .direction = direction,
        .state = HTTP_STATE_IDLE,
    };
}

void http_parser_expect_head(struct http_parser *parser, bool is_head)
{
    /* Kept apart from response_to_head: the caller may learn about the next
     * request while the previous response is still being written. */
    parser->next_response_to_head = is_head;
}

/*
 * Starts a message at byte c, or returns false if no HTTP/1.x message can
 * begin with it.
 */
static bool http_parser_begin(struct http_parser *parser, unsigned char c)
{
    bool request = parser->direction == HTTP_DIRECTION_REQUEST;
    /* An interim response answers the same request as the final one, so a
     * HEAD that applied to "100 Continue" still applies after it. */
    bool after_interim = parser->status >= 100 && parser->status < 200;

    if (request ? !http_is_method_char(c) : c != 'H')
        return false;
    parser->response_to_head = parser->next_response_to_head ||
                               (after_interim && parser->response_to_head);
    parser->next_response_to_head = false;
    parser->method[0] = '\0';
    parser->target[0] = '\0';
    parser->target_truncated = false;
    parser->status = 0;
    parser->message_bytes = 0;
    parser->state = HTTP_STATE_HEAD;
    parser->head_state =
        request ? HTTP_HEAD_METHOD : HTTP_HEAD_RESPONSE_VERSION;
    parser->header_kind = HTTP_HEADER_OTHER;
    parser->has_length = false;
    parser->has_encoding = false;
    parser->chunked = false;
    parser->token_length = 0;
    parser->content_length = 0;
    parser->remaining = 0;
    return true;
}

/* Advances the match of a header name against the header it may be. */
static void http_parser_match_name(struct http_parser *parser,
                                   unsigned char c)
{
    const char *name;

    if (parser->header_kind == HTTP_HEADER_CONTENT_LENGTH)
        name = http_content_length;
    else if (parser->header_kind == HTTP_HEADER_TRANSFER_ENCODING)
        name = http_transfer_encoding;
    else
        return;
    /* c is a token char, never NUL, so this stops at the literal's end. */
    if ((unsigned char)name[parser->token_length] == http_lower(c))
        parser->token_length++;
    else
        parser->header_kind = HTTP_HEADER_OTHER;
}

/* Picks the state for the value once ':' ended a header name. */
static void http_parser_name_end(struct http_parser *parser)
{
    if (parser->header_kind == HTTP_HEADER_CONTENT_LENGTH &&
        parser->token_length == sizeof(http_content_length) - 1) {
        parser->remaining = 0;
        parser->head_state = HTTP_HEAD_LENGTH_BEFORE;
    } else if (parser->header_kind == HTTP_HEADER_TRANSFER_ENCODING &&
               parser->token_length == sizeof(http_transfer_encoding) - 1) {
        parser->head_state = HTTP_HEAD_ENCODING_START;
    } else {
        parser->header_kind = HTTP_HEADER_OTHER;
        parser->head_state = HTTP_HEAD_VALUE_SKIP;
    }
}

/* A field line ends at c, a CR or an LF. */
static int http_parser_line_end(struct http_parser *parser, unsigned char c)
{
    parser->head_state =
        c == '\r' ? HTTP_HEAD_LINE_LF : HTTP_HEAD_FIELD_START;
    return 0;
}

/* A Content-Length value ends at c, a CR or an LF. */
static int http_parser_length_end(struct http_parser *parser, unsigned char c)
{
    /* Repeated Content-Length fields must agree (RFC 9112 section 6.3),
     * else the body's end depends on which one a reader believes. */
    if (parser->has_length && parser->content_length != parser->remaining)
        return -1;
    parser->has_length = true;
    parser->content_length = parser->remaining;
    return http_parser_line_end(parser, c);
}

/* A transfer coding's name ended. The last coding decides, whichever
 * Transfer-Encoding field it came in. */
static void http_parser_coding_end(struct http_parser *parser)
{
    parser->has_encoding = true;
    parser->chunked = parser->token_length == sizeof(http_chunked) - 1;
}

static void http_parser_match_coding(struct http_parser *parser,
                                     unsigned char c)
{
    if (parser->token_length < sizeof(http_chunked) - 1 &&
        (unsigned char)http_chunked[parser->token_length] == http_lower(c))
        parser->token_length++;
    else
        parser->token_length = HTTP_NO_MATCH;
}

/*
 * Consumes one byte of a start line or header section. Returns 0 to go on,
 * 1 when the byte ended the header section, -1 when it is not HTTP/1.x.
 */
static int http_parser_head_byte(struct http_parser *parser, unsigned char c)
{
    switch (parser->head_state) {
    case HTTP_HEAD_METHOD:
        if (c == ' ') {
            parser->method[parser->token_length] = '\0';
            parser->token_length = 0;
            parser->head_state = HTTP_HEAD_TARGET;
            return 0;
        }
        if (!http_is_method_char(c) ||
            parser->token_length >= HTTP_METHOD_MAX - 1)
            return -1;
        parser->method[parser->token_length++] = (char)c;
        return 0;

    case HTTP_HEAD_TARGET:
        if (c == ' ') {
            if (parser->token_length == 0)
                return -1;
            parser->target[parser->token_length] = '\0';
            parser->token_length = 0;
            parser->head_state = HTTP_HEAD_REQUEST_VERSION;
            return 0;
        }
        /* Controls (CR, LF: an HTTP/0.9 request) cannot be in a target;
         * bytes above 0x7f are let through for clients that send raw
         * UTF-8. */
        if (c < ' ' || c == 0x7f)
            return -1;
        if (parser->token_length < HTTP_TARGET_MAX - 1)
            parser->target[parser->token_length++] = (char)c;
        else
            parser->target_truncated = true;
        return 0;

    case HTTP_HEAD_REQUEST_VERSION:
    case HTTP_HEAD_RESPONSE_VERSION:
        if (parser->token_length < sizeof(http_version_prefix) - 1
                ? c != (unsigned char)http_version_prefix[parser->token_length]
                : !http_is_digit(c))
            return -1;
        if (++parser->token_length < HTTP_VERSION_LENGTH)
            return 0;
        parser->token_length = 0;
        parser->head_state = parser->head_state == HTTP_HEAD_REQUEST_VERSION
                                 ? HTTP_HEAD_REQUEST_LINE_END
                                 : HTTP_HEAD_VERSION_SPACE;
        return 0;

    case HTTP_HEAD_REQUEST_LINE_END:
        if (c != '\r' && c != '\n')
            return -1;
        return http_parser_line_end(parser, c);

    case HTTP_HEAD_VERSION_SPACE:
        if (c != ' ')
            return -1;
        parser->head_state = HTTP_HEAD_STATUS;
        return 0;

    case HTTP_HEAD_STATUS:
        if (!http_is_digit(c))
            return -1;
        parser->status = parser->status * 10 + (c - '0');
        if (++parser->token_length < 3)
            return 0;
        if (parser->status < 100)
            return -1;
        parser->head_state = HTTP_HEAD_STATUS_END;
        return 0;

    case HTTP_HEAD_STATUS_END:
        if (c == ' ') {
            parser->head_state = HTTP_HEAD_REASON;
            return 0;
        }
        /* The SP before an empty reason phrase is often left out. */
        if (c != '\r' && c != '\n')
            return -1;
        return http_parser_line_end(parser, c);

    case HTTP_HEAD_REASON:
    case HTTP_HEAD_VALUE_SKIP:
        if (c == '\r' || c == '\n')
            return http_parser_line_end(parser, c);
        return 0;

    case HTTP_HEAD_LINE_LF:
        if (c != '\n')
            return -1;
        parser->head_state = HTTP_HEAD_FIELD_START;
        return 0;

    case HTTP_HEAD_FIELD_START:
        if (c == '\r') {
            parser->head_state = HTTP_HEAD_END_LF;
            return 0;
        }
        if (c == '\n')
            return 1;
        if (http_is_space(c)) {
            /* obs-fold continues the previous line's value. That is
             * harmless to skip for a header we do not read, but would
             * change a Content-Length or Transfer-Encoding already
             * acted on. */
            if (parser->header_kind != HTTP_HEADER_OTHER)
                return -1;
            parser->head_state = HTTP_HEAD_VALUE_SKIP;
            return 0;
        }
        if (!http_is_token_char(c))
            return -1;
        switch (http_lower(c)) {
        case 'c':
            parser->header_kind = HTTP_HEADER_CONTENT_LENGTH;
            break;
        case 't':
            parser->header_kind = HTTP_HEADER_TRANSFER_ENCODING;
            break;
        default:
            parser->header_kind = HTTP_HEADER_OTHER;
            break;
        }
        parser->token_length = 0;
        http_parser_match_name(parser, c);
        parser->head_state = HTTP_HEAD_FIELD_NAME;
        return 0;

    case HTTP_HEAD_FIELD_NAME:
        if (c == ':') {
            http_parser_name_end(parser);
            return 0;
        }
        if (!http_is_token_char(c))
            return -1;
        http_parser_match_name(parser, c);
        return 0;

    case HTTP_HEAD_LENGTH_BEFORE:
        if (http_is_space(c))
            return 0;
        if (!http_is_digit(c))
            return -1;
        parser->remaining = c - '0';
        parser->head_state = HTTP_HEAD_LENGTH_DIGITS;
        return 0;

    case HTTP_HEAD_LENGTH_DIGITS:
        if (http_is_digit(c)) {
            if (parser->remaining > (UINT64_MAX - (c - '0')) / 10)
                return -1;
            parser->remaining = parser->remaining * 10 + (c - '0');
            return 0;
        }
        if (http_is_space(c)) {
            parser->head_state = HTTP_HEAD_LENGTH_AFTER;
            return 0;
        }
        if (c != '\r' && c != '\n')
            return -1;
        return http_parser_length_end(parser, c);

    case HTTP_HEAD_LENGTH_AFTER:
        if (http_is_space(c))
            return 0;
        if (c != '\r' && c != '\n')
            return -1;
        return http_parser_length_end(parser, c);

    case HTTP_HEAD_ENCODING_START:
        if (http_is_space(c) || c == ',')
            return 0;
        if (c == '\r' || c == '\n')
            return http_parser_line_end(parser, c);
        if (!http_is_token_char(c))
            return -1;
        parser->token_length = 0;
        http_parser_match_coding(parser, c);
        parser->head_state = HTTP_HEAD_ENCODING_NAME;
        return 0;

    case HTTP_HEAD_ENCODING_NAME:
        if (http_is_token_char(c)) {
            http_parser_match_coding(parser, c);
            return 0;
        }
        if (c == ',') {
            http_parser_coding_end(parser);
            parser->head_state = HTTP_HEAD_ENCODING_START;
            return 0;
        }
        if (http_is_space(c) || c == ';') {
            http_parser_coding_end(parser);
            parser->head_state = HTTP_HEAD_ENCODING_REST;
            return 0;
        }
        if (c != '\r' && c != '\n')
            return -1;
        http_parser_coding_end(parser);
        return http_parser_line_end(parser, c);

    case HTTP_HEAD_ENCODING_REST:
        if (c == ',') {
            parser->head_state = HTTP_HEAD_ENCODING_START;
            return 0;
        }
        if (c == '\r' || c == '\n')
            return http_parser_line_end(parser, c);
        return 0;

    case HTTP_HEAD_END_LF:
        return c == '\n' ? 1 : -1;
    }
    return -1;
}

/*
 * Decides how the body of the message whose headers just ended is
 * delimited (RFC 9112 section 6.3). Returns -1 for a request body whose
 * length cannot be known.
 */
static int http_parser_choose_body(struct http_parser *parser)
{
    bool request = parser->direction == HTTP_DIRECTION_REQUEST;

    if (!request && (parser->response_to_head || parser->status < 200 ||
                     parser->status == 204 || parser->status == 304))
        parser->body_kind = HTTP_BODY_NONE;
    else if (parser->has_encoding && parser->chunked)
        parser->body_kind = HTTP_BODY_CHUNKED;
    else if (parser->has_encoding && request)
        return -1;
    else if (parser->has_encoding)
        parser->body_kind = HTTP_BODY_UNTIL_CLOSE;
    else if (parser->has_length)
        parser->body_kind = parser->content_length ? HTTP_BODY_LENGTH
                                                   : HTTP_BODY_NONE;
    else
        parser->body_kind = request ? HTTP_BODY_NONE : HTTP_BODY_UNTIL_CLOSE;
    parser->remaining =
        parser->body_kind == HTTP_BODY_LENGTH ? parser->content_length : 0;
    parser->chunk_state = HTTP_CHUNK_SIZE_START;
    return 0;
}

/* The message ended at offset; 101 Switching Protocols ends HTTP too. */
static void http_parser_complete(struct http_parser *parser, size_t offset,
                                 http_event_fn on_event, void *context)
{
    parser->state =
        parser->status == 101 ? HTTP_STATE_DONE : HTTP_STATE_IDLE;
    on_event(context, HTTP_EVENT_MESSAGE_COMPLETE, parser, offset);
}

/* The header section ended at offset. */
static int http_parser_headers_end(struct http_parser *parser, size_t offset,
                                   http_event_fn on_event, void *context)
{
    if (http_parser_choose_body(parser) != 0)
        return -1;
    if (parser->body_kind != HTTP_BODY_NONE)
        parser->state = HTTP_STATE_BODY;
    on_event(context, HTTP_EVENT_HEADERS_COMPLETE, parser, offset);
    if (parser->body_kind == HTTP_BODY_NONE)
        http_parser_complete(parser, offset, on_event, context);
    return 0;
}

/* The end of a chunk size line: a size of zero is the last chunk. */
static int http_parser_chunk_size_end(struct http_parser *parser,
                                      unsigned char c)
{
    if (c == '\r') {
        parser->chunk_state = HTTP_CHUNK_SIZE_LF;
        return 0;
    }
    if (c != '\n')
        return -1;
    parser->chunk_state =
        parser->remaining ? HTTP_CHUNK_DATA : HTTP_CHUNK_TRAILER;
    return 0;
}

/*
 * Consumes one byte of chunked framing (anything but chunk data). Returns 0
 * to go on, 1 when the byte ended the message, -1 when it is malformed.
 */
static int http_parser_chunk_byte(struct http_parser *parser, unsigned char c)
{
    int digit = http_hex_value(c);

    switch (parser->chunk_state) {
    case HTTP_CHUNK_SIZE_START:
        if (digit < 0)
            return -1;
        parser->remaining = (uint64_t)digit;
        parser->chunk_state = HTTP_CHUNK_SIZE;
        return 0;

    case HTTP_CHUNK_SIZE:
        if (digit >= 0) {
            /* Leading zeros are allowed, so the value, not the number of
             * digits, is what must fit. */
            if (parser->remaining > UINT64_MAX >> 4)
                return -1;
            parser->remaining = parser->remaining << 4 | (uint64_t)digit;
            return 0;
        }
        if (http_is_space(c)) {
            parser->chunk_state = HTTP_CHUNK_SIZE_SPACE;
            return 0;
        }
        /* fall through */
    case HTTP_CHUNK_SIZE_SPACE:
        if (http_is_space(c))
            return 0;
        if (c == ';') {
            parser->chunk_state = HTTP_CHUNK_EXTENSION;
            return 0;
        }
        return http_parser_chunk_size_end(parser, c);

    case HTTP_CHUNK_EXTENSION:
        if (c == '\r' || c == '\n')
            return http_parser_chunk_size_end(parser, c);
        return 0;

    case HTTP_CHUNK_SIZE_LF:
        if (c != '\n')
            return -1;
        parser->chunk_state =
            parser->remaining ? HTTP_CHUNK_DATA : HTTP_CHUNK_TRAILER;
        return 0;

    case HTTP_CHUNK_DATA_END:
        if (c == '\r') {
            parser->chunk_state = HTTP_CHUNK_DATA_LF;
            return 0;
        }
        if (c != '\n')
            return -1;
        parser->chunk_state = HTTP_CHUNK_SIZE_START;
        return 0;

    case HTTP_CHUNK_DATA_LF:
        if (c != '\n')
            return -1;
        parser->chunk_state = HTTP_CHUNK_SIZE_START;
        return 0;

    case HTTP_CHUNK_TRAILER:
        if (c == '\r') {
            parser->chunk_state = HTTP_CHUNK_END_LF;
            return 0;
        }
        if (c == '\n')
            return 1;
        parser->chunk_state = HTTP_CHUNK_TRAILER_LINE;
        return 0;

    case HTTP_CHUNK_TRAILER_LINE:
        /* Trailer fields cannot change the framing: skip to the LF. */
        if (c == '\n')
            parser->chunk_state = HTTP_CHUNK_TRAILER;
        return 0;

    case HTTP_CHUNK_END_LF:
        return c == '\n' ? 1 : -1;
    }
    return -1;
}

/* Takes up to available bytes of a body part of known remaining length. */
static uint64_t http_parser_skip(struct http_parser *parser,
                                 uint64_t available)
{
    uint64_t taken =
        available < parser->remaining ? available : parser->remaining;

    parser->remaining -= taken;
    parser->message_bytes += taken;
    return taken;
}

/*
 * Consumes body bytes from data[*position] on: all that belong to the
 * body's current part at once, framing bytes one at a time. Advances
 * *position; returns -1 on malformed chunked framing.
 */
static int http_parser_body(struct http_parser *parser,
                            const unsigned char *data, size_t len,
                            size_t *position, http_event_fn on_event,
                            void *context)
{
    size_t start = *position;
    int result;

    switch (parser->body_kind) {
    case HTTP_BODY_UNTIL_CLOSE:
        parser->message_bytes += len - start;
        *position = len;
        return 0;

    case HTTP_BODY_LENGTH:
        *position += http_parser_skip(parser, len - start);
        if (parser->remaining == 0)
            http_parser_complete(parser, *position - 1, on_event, context);
        return 0;

    case HTTP_BODY_CHUNKED:
        if (parser->chunk_state == HTTP_CHUNK_DATA) {
            *position += http_parser_skip(parser, len - start);
            if (parser->remaining == 0)
                parser->chunk_state = HTTP_CHUNK_DATA_END;
            return 0;
        }
        parser->message_bytes++;
        *position = start + 1;
        result = http_parser_chunk_byte(parser, data[start]);
        if (result > 0)
            http_parser_complete(parser, start, on_event, context);
        return result < 0 ? -1 : 0;
    }
    return -1;
}

int http_parser_feed(struct http_parser *parser, const char *data,
                     size_t len, http_event_fn on_event, void *context)
{
    const unsigned char *bytes = (const unsigned char *)data;
    size_t position = 0;
    int result;

    while (position < len) {
        switch (parser->state) {
        case HTTP_STATE_IDLE:
            /* RFC 9112 section 2.2: a server ignores empty lines before a
             * request line; some clients send a CRLF after a body. */
            if (parser->direction == HTTP_DIRECTION_REQUEST &&
                (bytes[position] == '\r' || bytes[position] == '\n')) {
                position++;
                break;
            }
            if (!http_parser_begin(parser, bytes[position]))
                return http_parser_fail(parser);
            on_event(context, HTTP_EVENT_MESSAGE_BEGIN, parser, position);
            /* The same byte is parsed next, as the first of the head. */
            break;

        case HTTP_STATE_HEAD:
            if (parser->head_state == HTTP_HEAD_VALUE_SKIP ||
                parser->head_state == HTTP_HEAD_REASON) {
                /* Most of a head is values nobody reads (Date, Server,
                 * ETag...): skip to the end of the line at once rather
                 * than a byte per call. */
                size_t end = position;
                while (end < len && bytes[end] != '\r' && bytes[end] != '\n')
                    end++;
                parser->message_bytes += end - position;
                position = end;
                if (position == len)
                    break;
            }
            parser->message_bytes++;
            result = http_parser_head_byte(parser, bytes[position]);
            if (result < 0 ||
                (result > 0 && http_parser_headers_end(parser, position,
                                                       on_event, context)))
                return http_parser_fail(parser);
            position++;
            break;

        case HTTP_STATE_BODY:
            if (http_parser_body(parser, bytes, len, &position, on_event,
                                 context) != 0)
                return http_parser_fail(parser);
            break;

        case HTTP_STATE_DONE:
            return 0;

        case HTTP_STATE_ERROR:
            return -1;
        }
    }
    return parser->state == HTTP_STATE_ERROR ? -1 : 0;
}

int http_parser_feed_opaque(struct http_parser *parser, size_t len,
                            http_event_fn on_event, void *context)
{
    if (parser->state == HTTP_STATE_ERROR)
        return -1;
    if (len == 0 || parser->state == HTTP_STATE_DONE)
        return 0;
    if (parser->state != HTTP_STATE_BODY)
        return http_parser_fail(parser);
    if (parser->body_kind == HTTP_BODY_UNTIL_CLOSE) {
        parser->message_bytes += len;
        return 0;
    }
    /* Unseen bytes can only be chunk data or Content-Length body: framing
     * bytes would have to be read to know where the message ends. */
    if ((parser->body_kind != HTTP_BODY_LENGTH &&
         parser->chunk_state != HTTP_CHUNK_DATA) ||
        len > parser->remaining)
        return http_parser_fail(parser);
    http_parser_skip(parser, len);
    if (parser->remaining != 0)
        return 0;
    if (parser->body_kind == HTTP_BODY_LENGTH)
        http_parser_complete(parser, 0, on_event, context);
    else
        parser->chunk_state = HTTP_CHUNK_DATA_END;
    return 0;
}

void http_parser_close(struct http_parser *parser, http_event_fn on_event,
                       void *context)
{
    if (parser->state == HTTP_STATE_BODY &&
        parser->body_kind == HTTP_BODY_UNTIL_CLOSE)
        http_parser_complete(parser, 0, on_event, context);
    else if (parser->state == HTTP_STATE_HEAD ||
             parser->state == HTTP_STATE_BODY)
        parser->state = HTTP_STATE_IDLE;
}
