/* Waits per peer, the writer's side: a request's records summed in a
 * fixed table, and the table as a report says it; see peer_wait.h. */
#include "peer_wait.h"

#include <stdio.h>
#include <string.h>

#include "peer_name.h"

/* What reports call a row of several kinds (the other peers' row). */
#define PEER_WAITS_KIND_MIXED RP_PEER_WAIT_KINDS

const char *rp_peer_wait_kind_name(enum rp_peer_wait_kind kind)
{
    switch (kind) {
    case RP_PEER_WAIT_CONNECT:
        return "connect";
    case RP_PEER_WAIT_READ:
        return "read";
    case RP_PEER_WAIT_WRITE:
        return "write";
    default:
        return RP_REPORT_WAIT_MIXED_KIND;
    }
}

/* The row of waits for peer and kind: a new one while there is room,
 * else the other peers' row. */
static struct rp_peer_wait_row *peer_waits_row(struct rp_peer_waits *waits,
                                               uint16_t peer, uint8_t kind)
{
    if (peer != RP_PEER_UNNAMED) {
        for (unsigned i = 0; i < waits->count; i++)
            if (waits->rows[i].peer == peer && waits->rows[i].kind == kind)
                return &waits->rows[i];
        if (waits->count < RP_PEER_WAITS_MAX) {
            struct rp_peer_wait_row *row = &waits->rows[waits->count++];
            *row = (struct rp_peer_wait_row){.peer = peer, .kind = kind};
            return row;
        }
    }
    struct rp_peer_wait_row *other = &waits->other;
    if (other->calls == 0)
        *other = (struct rp_peer_wait_row){.peer = RP_PEER_UNNAMED, .kind = kind};
    else if (other->kind != kind)
        other->kind = PEER_WAITS_KIND_MIXED;
    return other;
}

void rp_peer_waits_add(struct rp_peer_waits *waits, const struct rp_record *record)
{
    struct rp_peer_wait_payload payload;
    if (record->frame_count < RP_PEER_WAIT_PAYLOAD_FRAMES)
        return;
    memcpy(&payload, record->frames, sizeof payload);
    struct rp_peer_wait_row *row = peer_waits_row(waits, payload.peer, (uint8_t)payload.kind);
    row->calls += payload.calls;
    row->ns += record->value;
    row->bytes += payload.bytes;
}

uint64_t rp_peer_waits_total_ns(const struct rp_peer_waits *waits)
{
    uint64_t total = waits->other.calls != 0 ? waits->other.ns : 0;
    for (unsigned i = 0; i < waits->count; i++)
        total += waits->rows[i].ns;
    return total;
}

static void peer_waits_put(const struct rp_peer_wait_row *row, bool redact_query,
                           struct rp_report_wait *wait)
{
    rp_peer_name_format(row->peer, redact_query, wait->peer, sizeof wait->peer);
    snprintf(wait->kind, sizeof wait->kind, "%s",
             rp_peer_wait_kind_name((enum rp_peer_wait_kind)row->kind));
    wait->calls = row->calls;
    wait->ms = (double)row->ns / 1e6;
    wait->bytes = row->bytes;
}

void rp_peer_waits_to_report(const struct rp_peer_waits *waits, bool redact_query,
                             struct rp_report *report)
{
    report->wait_count = 0;
    for (unsigned i = 0; i < waits->count; i++)
        peer_waits_put(&waits->rows[i], redact_query, &report->waits[report->wait_count++]);
    if (waits->other.calls != 0)
        peer_waits_put(&waits->other, redact_query, &report->waits[report->wait_count++]);
}
