/*
 * HTTP/1.x message framing; see http_parser.h for the contract.
 *
 * A head is read a line at a time when the whole line is in the buffer, as
 * it nearly always is: the line parsers find the bytes that matter (the end
 * of a header name, of a target, of the line) 16 bytes per step, the way
 * glibc's memchr does, and look only at the few fields they need. A line cut
 * by the end of a buffer, and any line they do not recognise as plain, goes
 * through a byte-at-a-time state machine instead, which also decides what
 * is malformed. So a message may be cut anywhere without the parser ever
 * buffering more than the method and target it reports, and both ways of
 * reading a line reach the same state. Chunked framing goes through its own
 * byte-at-a-time machine. Body bytes of known length (Content-Length, chunk
 * data) and bodies that run until close are skipped in one step per feed,
 * which keeps the cost of a large response at a few branches per write.
 *
 * The parser runs inside the server's read and write calls, possibly while
 * the server holds its own locks, so it must not allocate, block or touch
 * errno. The only libc it calls is memcpy and memcmp, which do none of that.
 * The 16-byte steps use SSE2, which every x86-64 processor has; reqprof
 * runs on x86-64 only (architecture.h).
 *
 * Only the two headers that frame a body are read, so no header name is
 * stored: a line parser compares a whole name with them, the byte machine
 * matches a name as it arrives, one byte against a literal. The value of any
 * other header is skipped however long it is.
 */
#include "architecture.h"

#include <emmintrin.h>
#include <string.h>

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

/* Byte classes the line parsers look for (http_scan). */
enum http_scan_class {
    HTTP_SCAN_LINE_END,   /* CR or LF */
    HTTP_SCAN_TARGET_END, /* SP, a control or DEL: what ends a target */
    HTTP_SCAN_NAME_END,   /* anything but a letter, a digit or '-': what
                             ends a header name as servers write them */
    HTTP_SCAN_METHOD_END, /* anything http_is_method_char refuses */
};

/* Which of 16 bytes are between low and high (unsigned, inclusive): the
 * difference from low wraps around unless it is small enough. */
static __m128i http_bytes_between(__m128i bytes, char low, char high)
{
    __m128i offset = _mm_sub_epi8(bytes, _mm_set1_epi8(low));

    return _mm_cmpeq_epi8(_mm_subs_epu8(offset, _mm_set1_epi8(high - low)),
                          _mm_setzero_si128());
}

/* Bit i set when bytes[i] is of the class. */
static inline unsigned http_class_mask(__m128i bytes,
                                       enum http_scan_class class)
{
    __m128i found = _mm_setzero_si128();

    switch (class) {
    case HTTP_SCAN_LINE_END:
        found = _mm_or_si128(_mm_cmpeq_epi8(bytes, _mm_set1_epi8('\r')),
                             _mm_cmpeq_epi8(bytes, _mm_set1_epi8('\n')));
        break;
    case HTTP_SCAN_TARGET_END:
        found = _mm_or_si128(http_bytes_between(bytes, 0, ' '),
                             _mm_cmpeq_epi8(bytes, _mm_set1_epi8(0x7f)));
        break;
    case HTTP_SCAN_NAME_END:
        /* Setting bit 5 lowercases letters and nothing else becomes one. */
        found = _mm_or_si128(
            http_bytes_between(_mm_or_si128(bytes, _mm_set1_epi8(0x20)), 'a',
                               'z'),
            _mm_or_si128(http_bytes_between(bytes, '0', '9'),
                         _mm_cmpeq_epi8(bytes, _mm_set1_epi8('-'))));
        return ~(unsigned)_mm_movemask_epi8(found) & 0xffff;
    case HTTP_SCAN_METHOD_END:
        found = _mm_or_si128(
            http_bytes_between(bytes, 'A', 'Z'),
            _mm_or_si128(_mm_cmpeq_epi8(bytes, _mm_set1_epi8('-')),
                         _mm_cmpeq_epi8(bytes, _mm_set1_epi8('_'))));
        return ~(unsigned)_mm_movemask_epi8(found) & 0xffff;
    }
    return (unsigned)_mm_movemask_epi8(found);
}

/*
 * The class bits of data[position, position + 16), bit 0 for
 * data[position]; bytes at or past len have none. Reads nothing outside
 * data[0, len): near its end, the buffer's last 16 bytes are loaded and the
 * bits before position dropped, and a buffer shorter than that is copied
 * into a zeroed block first.
 */
static inline unsigned http_class_bits(const unsigned char *data, size_t len,
                                       size_t position,
                                       enum http_scan_class class)
{
    unsigned char block[16] = {0};

    if (position >= len)
        return 0;
    if (len - position >= 16)
        return http_class_mask(
            _mm_loadu_si128((const __m128i *)(data + position)), class);
    if (len >= 16)
        return http_class_mask(
                   _mm_loadu_si128((const __m128i *)(data + len - 16)),
                   class) >>
               (16 - (len - position));
    memcpy(block, data + position, len - position);
    return http_class_mask(_mm_loadu_si128((const __m128i *)block), class) &
           ((1u << (len - position)) - 1);
}

/* http_scan after its first step, out of line so that the common case
 * stays small where it is inlined. */
static __attribute__((noinline)) size_t
http_scan_on(const unsigned char *data, size_t len, size_t position,
             enum http_scan_class class)
{
    for (; position < len; position += 16) {
        unsigned bits = http_class_bits(data, len, position, class);

        if (bits != 0)
            return position + (size_t)__builtin_ctz(bits);
    }
    return len;
}

/* The index of the first byte of the class in data[position, len), or len
 * if there is none. Names and targets mostly end within 16 bytes. */
static inline size_t http_scan(const unsigned char *data, size_t len,
                               size_t position, enum http_scan_class class)
{
    if (len - position >= 16) {
        unsigned bits = http_class_mask(
            _mm_loadu_si128((const __m128i *)(data + position)), class);

        if (bits != 0)
            return position + (size_t)__builtin_ctz(bits);
        position += 16;
    }
    return http_scan_on(data, len, position, class);
}

/*
 * The line ends of a buffer (its CRs and LFs), found 64 bytes at a time
 * ahead of the line parsers. Where a line begins is then a few bit
 * operations away from where the one before it began, rather than at the
 * end of a scan of it, so a processor can work on several lines at once.
 */
struct http_line_ends {
    const unsigned char *data;
    size_t len;
    size_t block;  /* offset of the 64 bytes that bits describes */
    uint64_t bits; /* their CRs and LFs, bit i for data[block + i] */
};

/* The CR and LF bits of the 64 bytes at bytes. */
static inline uint64_t http_line_end_bits(const unsigned char *bytes)
{
    return (uint64_t)http_class_mask(_mm_loadu_si128((const __m128i *)bytes),
                                     HTTP_SCAN_LINE_END) |
           (uint64_t)http_class_mask(
               _mm_loadu_si128((const __m128i *)(bytes + 16)),
               HTTP_SCAN_LINE_END)
               << 16 |
           (uint64_t)http_class_mask(
               _mm_loadu_si128((const __m128i *)(bytes + 32)),
               HTTP_SCAN_LINE_END)
               << 32 |
           (uint64_t)http_class_mask(
               _mm_loadu_si128((const __m128i *)(bytes + 48)),
               HTTP_SCAN_LINE_END)
               << 48;
}

/* The CR and LF bits of data[block, len), fewer than 64 bytes in a buffer
 * shorter than that: of a copy padded with zeros, so as to read nothing
 * outside the buffer. */
static __attribute__((noinline)) uint64_t
http_line_end_bits_short(const unsigned char *data, size_t len, size_t block)
{
    unsigned char copy[64] = {0};

    memcpy(copy, data + block, len - block);
    return http_line_end_bits(copy);
}

/* Loads the block at data[block], block < len. Nothing outside the buffer
 * is read: the last block of a buffer is its last 64 bytes with the bits
 * before block dropped. */
static inline void http_line_ends_load(struct http_line_ends *ends,
                                       size_t block)
{
    size_t left = ends->len - block;

    ends->block = block;
    if (left >= 64)
        ends->bits = http_line_end_bits(ends->data + block);
    else if (ends->len >= 64)
        ends->bits = http_line_end_bits(ends->data + ends->len - 64) >>
                     (64 - left);
    else
        ends->bits = http_line_end_bits_short(ends->data, ends->len, block);
}

/* The first CR or LF in the blocks from data[block] on, or len: loads
 * them in turn. Out of line, so that what is inlined of a line's scan is
 * only the common case, a line end in the block loaded. */
static __attribute__((noinline)) size_t
http_line_ends_from(struct http_line_ends *ends, size_t block)
{
    for (; block < ends->len; block += 64) {
        http_line_ends_load(ends, block);
        if (ends->bits != 0)
            return block + (size_t)__builtin_ctzll(ends->bits);
    }
    return ends->len;
}

/* The first CR or LF in data[position, len), or len. position must not be
 * before that of the previous call. */
static inline size_t http_line_ends_next(struct http_line_ends *ends,
                                         size_t position)
{
    size_t offset = position - ends->block;
    uint64_t bits;

    if (offset >= 64)
        return http_line_ends_from(ends, position);
    bits = ends->bits >> offset;
    if (bits != 0)
        return position + (size_t)__builtin_ctzll(bits);
    return http_line_ends_from(ends, ends->block + 64);
}

static int http_parser_fail(struct rp_http_parser *parser)
{
    parser->state = RP_HTTP_STATE_ERROR;
    return -1;
}

void rp_http_parser_init(struct rp_http_parser *parser,
                         enum rp_http_direction direction)
{
    *parser = (struct rp_http_parser){
        .direction = direction,
        .state = RP_HTTP_STATE_IDLE,
    };
}

void rp_http_parser_expect_head(struct rp_http_parser *parser, bool is_head)
{
    /* Kept apart from response_to_head: the caller may learn about the next
     * request while the previous response is still being written. */
    parser->next_response_to_head = is_head;
}

/*
 * Starts a message at byte c, or returns false if no HTTP/1.x message can
 * begin with it.
 */
static bool http_parser_begin(struct rp_http_parser *parser, unsigned char c)
{
    bool request = parser->direction == RP_HTTP_DIRECTION_REQUEST;
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
    parser->target_invalid = false;
    parser->status = 0;
    parser->message_bytes = 0;
    parser->state = RP_HTTP_STATE_HEAD;
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
static void http_parser_match_name(struct rp_http_parser *parser,
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
static void http_parser_name_end(struct rp_http_parser *parser)
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
static int http_parser_line_end(struct rp_http_parser *parser, unsigned char c)
{
    parser->head_state =
        c == '\r' ? HTTP_HEAD_LINE_LF : HTTP_HEAD_FIELD_START;
    return 0;
}

/* A Content-Length field said length; -1 if an earlier one said otherwise:
 * repeated fields must agree (RFC 9112 section 6.3), else the body's end
 * depends on which one a reader believes. */
static int http_parser_take_length(struct rp_http_parser *parser,
                                   uint64_t length)
{
    if (parser->has_length && parser->content_length != length)
        return -1;
    parser->has_length = true;
    parser->content_length = length;
    return 0;
}

/* A Content-Length value ends at c, a CR or an LF. */
static int http_parser_length_end(struct rp_http_parser *parser, unsigned char c)
{
    if (http_parser_take_length(parser, parser->remaining) != 0)
        return -1;
    return http_parser_line_end(parser, c);
}

/* A transfer coding's name ended. The last coding decides, whichever
 * Transfer-Encoding field it came in. */
static void http_parser_coding_end(struct rp_http_parser *parser)
{
    parser->has_encoding = true;
    parser->chunked = parser->token_length == sizeof(http_chunked) - 1;
}

static void http_parser_match_coding(struct rp_http_parser *parser,
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
static int http_parser_head_byte(struct rp_http_parser *parser, unsigned char c)
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
            parser->token_length >= RP_HTTP_METHOD_MAX - 1)
            return -1;
        parser->method[parser->token_length++] = (char)c;
        return 0;

    case HTTP_HEAD_TARGET:
        if (c == ' ') {
            if (parser->token_length == 0 || parser->target_invalid)
                return -1;
            parser->target[parser->token_length] = '\0';
            parser->token_length = 0;
            parser->head_state = HTTP_HEAD_REQUEST_VERSION;
            return 0;
        }
        /* Other controls cannot be in a target either, but the request is
         * refused only at its end, so that the server's answer to it is
         * told with the whole target; bytes above 0x7f are let through
         * for clients that send raw UTF-8. CR and LF end the line: an
         * HTTP/0.9 request. */
        if (c == '\r' || c == '\n')
            return -1;
        if (c < ' ' || c == 0x7f)
            parser->target_invalid = true;
        if (parser->token_length < RP_HTTP_TARGET_MAX - 1)
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
 * The line parsers. Each reads the line data[start, line_end), line_end
 * being its first CR or LF, and returns 0 when it took the line, or -1,
 * having changed nothing, when the line is anything but plain (malformed,
 * an obs-fold, an underscore in a name...): http_parser_head_byte then
 * reads it and decides, so these need not know the rarer forms it accepts.
 * Bytes past line_end are in the buffer (at least its CR or LF), and their
 * scans may stop there.
 */

/* The length of the line end (CRLF or a bare LF) at line_end, a line's
 * first CR or LF or len, or 0 for a bare CR or one cut by the end of the
 * buffer. */
static size_t http_line_end_length(const unsigned char *data, size_t len,
                                   size_t line_end)
{
    static const unsigned char crlf[2] = {'\r', '\n'};

    if (len - line_end >= 2 && memcmp(data + line_end, crlf, 2) == 0)
        return 2;
    return line_end < len && data[line_end] == '\n' ? 1 : 0;
}

/* Whether the HTTP_VERSION_LENGTH bytes at version are "HTTP/1.x", x a
 * digit. */
static bool http_is_version(const unsigned char *version)
{
    return memcmp(version, http_version_prefix, HTTP_VERSION_LENGTH - 1) ==
               0 &&
           http_is_digit(version[HTTP_VERSION_LENGTH - 1]);
}

/* Whether bytes[0, len) are lower, ignoring ASCII case. */
static bool http_equals_lower(const unsigned char *bytes, const char *lower,
                              size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (http_lower(bytes[i]) != (unsigned char)lower[i])
            return false;
    return true;
}

/*
 * Whether a header name of len bytes, 8 or more, all letters, digits or
 * '-', is lower ignoring case. For those bytes, setting bit 5 lowercases
 * letters and changes nothing else, so 8 bytes compare at once; the last 8
 * overlap the ones before.
 */
static bool http_name_equals(const unsigned char *name, const char *lower,
                             size_t len)
{
    const uint64_t case_bits = 0x2020202020202020;
    uint64_t bytes, expected;
    size_t i;

    for (i = 0; i + 8 < len; i += 8) {
        memcpy(&bytes, name + i, 8);
        memcpy(&expected, lower + i, 8);
        if ((bytes | case_bits) != expected)
            return false;
    }
    memcpy(&bytes, name + len - 8, 8);
    memcpy(&expected, lower + len - 8, 8);
    return (bytes | case_bits) == expected;
}

/* The header a whole field name (letters, digits and '-') names. */
static enum http_header_kind http_header_kind_of(const unsigned char *name,
                                                 size_t len)
{
    if (len == sizeof(http_content_length) - 1 &&
        http_name_equals(name, http_content_length, len))
        return HTTP_HEADER_CONTENT_LENGTH;
    if (len == sizeof(http_transfer_encoding) - 1 &&
        http_name_equals(name, http_transfer_encoding, len))
        return HTTP_HEADER_TRANSFER_ENCODING;
    return HTTP_HEADER_OTHER;
}

/* The whitespace that may surround a field value: its bounds move past it. */
static inline void http_trim(const unsigned char *data, size_t *start,
                             size_t *end)
{
    while (*start < *end && http_is_space(data[*start]))
        (*start)++;
    while (*end > *start && http_is_space(data[*end - 1]))
        (*end)--;
}

/* Any number of 19 decimal digits fits in 64 bits. */
#define HTTP_LENGTH_DIGITS_MAX 19

/* Reads the whole Content-Length value data[start, end) into *length, or
 * returns -1 when it is not one number of up to HTTP_LENGTH_DIGITS_MAX
 * digits (longer ones, leading zeros or too large, are the byte machine's
 * to judge). */
static int http_length_value(const unsigned char *data, size_t start,
                             size_t end, uint64_t *length)
{
    http_trim(data, &start, &end);
    if (start == end || end - start > HTTP_LENGTH_DIGITS_MAX)
        return -1;
    *length = 0;
    for (; start < end; start++) {
        if (!http_is_digit(data[start]))
            return -1;
        *length = *length * 10 + (data[start] - '0');
    }
    return 0;
}

/*
 * memcpy for a target. GCC expands a memcpy whose size it knows to be
 * under RP_HTTP_TARGET_MAX into a rep movsq, whose start-up alone costs more
 * than the rest of a short request line; 16 bytes a step, the last step
 * overlapping the one before, costs a few instructions.
 */
static void http_copy(char *to, const unsigned char *from, size_t len)
{
    size_t i;

    if (len < 16) {
        memcpy(to, from, len);
        return;
    }
    for (i = 0; i + 16 < len; i += 16)
        _mm_storeu_si128((__m128i *)(to + i),
                         _mm_loadu_si128((const __m128i *)(from + i)));
    _mm_storeu_si128((__m128i *)(to + len - 16),
                     _mm_loadu_si128((const __m128i *)(from + len - 16)));
}

/* Reads a request line: method SP target SP version. */
static int http_parser_request_line(struct rp_http_parser *parser,
                                    const unsigned char *data, size_t len,
                                    size_t start, size_t line_end)
{
    size_t method_end = http_scan(data, len, start, HTTP_SCAN_METHOD_END);
    size_t target_start, target_end, kept;

    if (method_end - start > RP_HTTP_METHOD_MAX - 1 || data[method_end] != ' ')
        return -1;
    target_start = method_end + 1;
    target_end = http_scan(data, len, target_start, HTTP_SCAN_TARGET_END);
    if (data[target_end] != ' ' || target_end == target_start ||
        line_end - (target_end + 1) != HTTP_VERSION_LENGTH ||
        !http_is_version(data + target_end + 1))
        return -1;

    memcpy(parser->method, data + start, method_end - start);
    parser->method[method_end - start] = '\0';
    kept = target_end - target_start;
    parser->target_truncated = kept > RP_HTTP_TARGET_MAX - 1;
    if (parser->target_truncated)
        kept = RP_HTTP_TARGET_MAX - 1;
    http_copy(parser->target, data + target_start, kept);
    parser->target[kept] = '\0';
    return 0;
}

/* Reads a status line: version SP status, then SP reason or nothing. */
static int http_parser_status_line(struct rp_http_parser *parser,
                                   const unsigned char *data, size_t start,
                                   size_t line_end)
{
    const unsigned char *status = data + start + HTTP_VERSION_LENGTH + 1;
    size_t status_end = start + HTTP_VERSION_LENGTH + 1 + 3;

    /* A first digit of 0 would make a status under 100. */
    if (line_end < status_end || !http_is_version(data + start) ||
        status[-1] != ' ' || status[0] < '1' || status[0] > '9' ||
        !http_is_digit(status[1]) || !http_is_digit(status[2]) ||
        (line_end > status_end && data[status_end] != ' '))
        return -1;
    parser->status =
        (status[0] - '0') * 100 + (status[1] - '0') * 10 + (status[2] - '0');
    return 0;
}

/* Reads a field line: name ':' value, name_end being the first byte of the
 * line that is not a letter, a digit or '-'. Of the headers that frame a
 * body, it takes a Content-Length and a Transfer-Encoding of chunked alone;
 * codings before chunked, or parameters, are left to the byte machine. */
static int http_parser_field_line(struct rp_http_parser *parser,
                                  const unsigned char *data, size_t start,
                                  size_t name_end, size_t line_end)
{
    size_t value_start = name_end + 1, value_end = line_end;
    enum http_header_kind kind;
    uint64_t length;

    if (name_end == start || data[name_end] != ':')
        return -1;
    kind = http_header_kind_of(data + start, name_end - start);
    if (kind == HTTP_HEADER_CONTENT_LENGTH) {
        if (http_length_value(data, value_start, value_end, &length) != 0 ||
            http_parser_take_length(parser, length) != 0)
            return -1;
    } else if (kind == HTTP_HEADER_TRANSFER_ENCODING) {
        http_trim(data, &value_start, &value_end);
        if (value_end - value_start != sizeof(http_chunked) - 1 ||
            !http_equals_lower(data + value_start, http_chunked,
                               sizeof(http_chunked) - 1))
            return -1;
        parser->has_encoding = true;
        parser->chunked = true;
    }
    /* An obs-fold on the next line is refused after the two headers that
     * frame a body, as http_parser_head_byte does. */
    parser->header_kind = kind;
    return 0;
}

/*
 * Reads the whole lines of the head in data[position, len), from the one
 * the parser is at the beginning of, until one is cut by the end of the
 * buffer or is not plain, or through the empty line that ends the head
 * (then *head_end is set). Returns the offset just past the last line read
 * (position if none was).
 */
static size_t http_parser_head_lines(struct rp_http_parser *parser,
                                     const unsigned char *data, size_t len,
                                     size_t position, bool *head_end)
{
    struct http_line_ends ends = {.data = data, .len = len};
    bool request_line = parser->head_state == HTTP_HEAD_METHOD;

    if (parser->token_length != 0 ||
        (parser->head_state != HTTP_HEAD_METHOD &&
         parser->head_state != HTTP_HEAD_RESPONSE_VERSION &&
         parser->head_state != HTTP_HEAD_FIELD_START))
        return position;
    http_line_ends_load(&ends, position);
    if (parser->head_state != HTTP_HEAD_FIELD_START) {
        size_t line_end = http_line_ends_next(&ends, position);
        size_t line_end_length = http_line_end_length(data, len, line_end);

        if (line_end_length == 0 ||
            (request_line ? http_parser_request_line(parser, data, len,
                                                     position, line_end)
                          : http_parser_status_line(parser, data, position,
                                                    line_end)) != 0)
            return position;
        parser->head_state = HTTP_HEAD_FIELD_START;
        position = line_end + line_end_length;
    }
    for (;;) {
        size_t line_end = http_line_ends_next(&ends, position);
        size_t line_end_length = http_line_end_length(data, len, line_end);
        size_t name_end;

        if (line_end_length == 0)
            return position;
        if (line_end == position) {
            *head_end = true;
            return position + line_end_length;
        }
        /* A CR or LF ends a name too, so name_end <= line_end. */
        name_end = http_scan(data, len, position, HTTP_SCAN_NAME_END);
        if (http_parser_field_line(parser, data, position, name_end,
                                   line_end) != 0)
            return position;
        position = line_end + line_end_length;
    }
}

/*
 * Decides how the body of the message whose headers just ended is
 * delimited (RFC 9112 section 6.3). Returns -1 for a request body whose
 * length cannot be known.
 */
static int http_parser_choose_body(struct rp_http_parser *parser)
{
    bool request = parser->direction == RP_HTTP_DIRECTION_REQUEST;

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
static void http_parser_complete(struct rp_http_parser *parser, size_t offset,
                                 rp_http_event_fn on_event, void *context)
{
    parser->state =
        parser->status == 101 ? RP_HTTP_STATE_DONE : RP_HTTP_STATE_IDLE;
    on_event(context, RP_HTTP_EVENT_MESSAGE_COMPLETE, parser, offset);
}

/* The header section ended at offset. */
static int http_parser_headers_end(struct rp_http_parser *parser, size_t offset,
                                   rp_http_event_fn on_event, void *context)
{
    if (http_parser_choose_body(parser) != 0)
        return -1;
    if (parser->body_kind != HTTP_BODY_NONE)
        parser->state = RP_HTTP_STATE_BODY;
    on_event(context, RP_HTTP_EVENT_HEADERS_COMPLETE, parser, offset);
    if (parser->body_kind == HTTP_BODY_NONE)
        http_parser_complete(parser, offset, on_event, context);
    return 0;
}

/* The end of a chunk size line: a size of zero is the last chunk. */
static int http_parser_chunk_size_end(struct rp_http_parser *parser,
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
static int http_parser_chunk_byte(struct rp_http_parser *parser, unsigned char c)
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
static uint64_t http_parser_skip(struct rp_http_parser *parser,
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
static int http_parser_body(struct rp_http_parser *parser,
                            const unsigned char *data, size_t len,
                            size_t *position, rp_http_event_fn on_event,
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

int rp_http_parser_feed(struct rp_http_parser *parser, const char *data,
                        size_t len, rp_http_event_fn on_event, void *context)
{
    const unsigned char *bytes = (const unsigned char *)data;
    size_t position = 0, end;
    bool head_end = false;
    int result;

    while (position < len) {
        switch (parser->state) {
        case RP_HTTP_STATE_IDLE:
            /* RFC 9112 section 2.2: a server ignores empty lines before a
             * request line; some clients send a CRLF after a body. */
            if (parser->direction == RP_HTTP_DIRECTION_REQUEST &&
                (bytes[position] == '\r' || bytes[position] == '\n')) {
                position++;
                break;
            }
            if (!http_parser_begin(parser, bytes[position]))
                return http_parser_fail(parser);
            on_event(context, RP_HTTP_EVENT_MESSAGE_BEGIN, parser, position);
            /* The same byte is parsed next, as the first of the head. */
            break;

        case RP_HTTP_STATE_HEAD:
            end = http_parser_head_lines(parser, bytes, len, position,
                                         &head_end);
            parser->message_bytes += end - position;
            position = end;
            if (head_end) {
                head_end = false;
                if (http_parser_headers_end(parser, position - 1, on_event,
                                            context) != 0)
                    return http_parser_fail(parser);
                break;
            }
            if (position == len)
                break;
            if (parser->head_state == HTTP_HEAD_VALUE_SKIP ||
                parser->head_state == HTTP_HEAD_REASON) {
                /* The rest of a line cut by the end of the last buffer:
                 * skip to its end at once rather than a byte per call. */
                end = http_scan(bytes, len, position, HTTP_SCAN_LINE_END);
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

        case RP_HTTP_STATE_BODY:
            if (http_parser_body(parser, bytes, len, &position, on_event,
                                 context) != 0)
                return http_parser_fail(parser);
            break;

        case RP_HTTP_STATE_DONE:
            return 0;

        case RP_HTTP_STATE_ERROR:
            return -1;
        }
    }
    return parser->state == RP_HTTP_STATE_ERROR ? -1 : 0;
}

bool rp_http_parser_request_line_known(struct rp_http_parser *parser)
{
    if (parser->direction != RP_HTTP_DIRECTION_REQUEST ||
        parser->head_state == HTTP_HEAD_METHOD)
        return false;
    /* The byte machine ends the target only at the space after it. */
    if (parser->head_state == HTTP_HEAD_TARGET)
        parser->target[parser->token_length] = '\0';
    return true;
}

int rp_http_parser_feed_opaque(struct rp_http_parser *parser, size_t len,
                               rp_http_event_fn on_event, void *context)
{
    if (parser->state == RP_HTTP_STATE_ERROR)
        return -1;
    if (len == 0 || parser->state == RP_HTTP_STATE_DONE)
        return 0;
    if (parser->state != RP_HTTP_STATE_BODY)
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

void rp_http_parser_close(struct rp_http_parser *parser, rp_http_event_fn on_event,
                          void *context)
{
    if (parser->state == RP_HTTP_STATE_BODY &&
        parser->body_kind == HTTP_BODY_UNTIL_CLOSE)
        http_parser_complete(parser, 0, on_event, context);
    else if (parser->state == RP_HTTP_STATE_HEAD ||
             parser->state == RP_HTTP_STATE_BODY)
        parser->state = RP_HTTP_STATE_IDLE;
}
