/*
 * Incremental HTTP/1.x message parser, one per direction of a connection.
 *
 * reqprof sees a connection only as the bytes the server reads and writes,
 * in whatever pieces the kernel hands over: a request line split across two
 * reads, three pipelined requests in one read, a response spread over many
 * writev and sendfile calls. This parser turns those pieces into message
 * boundaries (where a request or response begins and ends) and the few facts
 * a profile needs (method, target, status). It never allocates, never
 * copies the body, and keeps all of its state in struct rp_http_parser, so it
 * can live inside the connection table and run inside the server's own
 * read/write calls.
 *
 * Bodies are delimited as RFC 9112 section 6 says: Content-Length, chunked
 * transfer coding (with trailers), no body for requests without either, no
 * body for responses to HEAD, 1xx, 204 and 304, and a response body without
 * either runs until the connection closes (rp_http_parser_close ends it).
 * Interim 1xx responses (100 Continue) are messages of their own and are
 * reported with their status, so the caller can skip them; 101 Switching
 * Protocols ends HTTP on the connection (RP_HTTP_STATE_DONE).
 */
#ifndef REQPROF_HTTP_PARSER_H
#define REQPROF_HTTP_PARSER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Longest method kept ("OPTIONS", "PROPFIND"...); longer ones are invalid. */
#define RP_HTTP_METHOD_MAX 16
/* Longest request target kept; longer targets are truncated, not refused. */
#define RP_HTTP_TARGET_MAX 512

/* Which side of the exchange the parser reads. */
enum rp_http_direction {
    RP_HTTP_DIRECTION_REQUEST,  /* bytes the server reads: requests */
    RP_HTTP_DIRECTION_RESPONSE, /* bytes the server writes: responses */
};

/* What the parser tells its caller, in stream order. */
enum rp_http_event {
    /* The first byte of a new message was consumed. */
    RP_HTTP_EVENT_MESSAGE_BEGIN,
    /* The start line and all headers are parsed: method and target (for a
     * request) or status (for a response) are now valid in the parser. */
    RP_HTTP_EVENT_HEADERS_COMPLETE,
    /* The last byte of the message (end of headers when there is no body,
     * else the last body byte or the chunked terminator) was consumed. */
    RP_HTTP_EVENT_MESSAGE_COMPLETE,
};

/* Coarse state, visible so callers can tell a dead stream from a live one. */
enum rp_http_state {
    RP_HTTP_STATE_IDLE,     /* between messages: the next byte begins one */
    RP_HTTP_STATE_HEAD,     /* inside a start line or headers */
    RP_HTTP_STATE_BODY,     /* inside a body */
    RP_HTTP_STATE_DONE,     /* no more HTTP on this stream (101 upgrade) */
    RP_HTTP_STATE_ERROR,    /* bytes that are not HTTP/1.x: ignore the rest */
};

struct rp_http_parser;

/*
 * Called for each event while rp_http_parser_feed runs. offset is the index in
 * the fed buffer of the byte that caused the event (for MESSAGE_COMPLETE,
 * the message's last byte), so a caller can tell which pipelined request
 * a byte belongs to. The parser's public fields describe the current
 * message during the callback.
 */
typedef void (*rp_http_event_fn)(void *context, enum rp_http_event event,
                                 const struct rp_http_parser *parser,
                                 size_t offset);

/* One direction of one connection. Zero it with rp_http_parser_init. */
struct rp_http_parser {
    /* Public, valid from HEADERS_COMPLETE until the next MESSAGE_BEGIN. */
    char method[RP_HTTP_METHOD_MAX];  /* NUL-terminated; "" in responses */
    char target[RP_HTTP_TARGET_MAX];  /* NUL-terminated, maybe truncated */
    bool target_truncated;         /* the real target was longer */
    /* Private, beside target_truncated so that one store clears both. */
    bool target_invalid;           /* a control byte is in the target */
    int status;                    /* response status code; 0 in requests */
    uint64_t message_bytes;        /* bytes of the current message so far */

    /* Private: the state machine. Do not touch. */
    enum rp_http_direction direction;
    enum rp_http_state state;
    uint8_t head_state;            /* position inside start line / headers */
    uint8_t body_kind;             /* length, chunked, until close, none */
    uint8_t chunk_state;           /* position inside chunked framing */
    uint8_t header_kind;           /* Content-Length, Transfer-Encoding or
                                      other: the field line being read */
    bool response_to_head;         /* the current response answers HEAD */
    bool next_response_to_head;    /* set by rp_http_parser_expect_head */
    bool has_length;               /* a Content-Length was seen */
    bool has_encoding;             /* a Transfer-Encoding was seen */
    bool chunked;                  /* Transfer-Encoding ends in chunked */
    uint16_t token_length;         /* bytes of the method, target, status
                                      or literal matched so far */
    uint64_t content_length;       /* parsed Content-Length */
    uint64_t remaining;            /* body or chunk bytes still to come;
                                      in headers, the number being read */
};

/* Resets a parser to read a fresh stream in the given direction. */
void rp_http_parser_init(struct rp_http_parser *parser,
                         enum rp_http_direction direction);

/*
 * Tells a response parser that the response it is about to read (the next
 * message to begin) answers a HEAD request, so it has no body whatever its
 * headers say. Call before feeding that response's first byte.
 */
void rp_http_parser_expect_head(struct rp_http_parser *parser, bool is_head);

/*
 * Consumes len bytes, calling on_event for each event in order. Returns 0,
 * or -1 when the bytes are not HTTP/1.x: the parser then stays in
 * RP_HTTP_STATE_ERROR and ignores all further input (for a request stream
 * whose first bytes are TLS or another protocol, that is the caller's cue to
 * leave the connection alone). Bytes after RP_HTTP_STATE_DONE are ignored.
 */
int rp_http_parser_feed(struct rp_http_parser *parser, const char *data,
                        size_t len, rp_http_event_fn on_event, void *context);

/*
 * For a request whose head began but did not complete (it is still
 * arriving, or rp_http_parser_feed refused it): whether its method was read
 * whole. If so, method is valid and target holds what was read of the
 * target, at most its first RP_HTTP_TARGET_MAX - 1 bytes (target_truncated
 * says if more came), as after HEADERS_COMPLETE. A server answers such a
 * request too (400, 414, 431, 501), and this is what it asked for.
 */
bool rp_http_parser_request_line_known(struct rp_http_parser *parser);

/*
 * Accounts for len bytes that were sent but cannot be seen (sendfile): they
 * must fall inside a body of known length or one that runs until close.
 * Returns 0, or -1 (and RP_HTTP_STATE_ERROR) when they cannot be placed, for
 * example inside headers or chunked framing. If they end the message,
 * MESSAGE_COMPLETE is reported with offset 0, as there is no buffer.
 */
int rp_http_parser_feed_opaque(struct rp_http_parser *parser, size_t len,
                               rp_http_event_fn on_event, void *context);

/*
 * The connection closed (or was shut down for writing). A body that runs
 * until close completes now (MESSAGE_COMPLETE is reported, with offset 0);
 * any other message in progress is simply abandoned.
 */
void rp_http_parser_close(struct rp_http_parser *parser, rp_http_event_fn on_event,
                          void *context);

#endif
