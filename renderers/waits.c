/*
 * A request's waits as the text view says them (the HTML view's script
 * says them the same way): "81.2 ms on 127.0.0.1:5432 (3 reads, 1.2 kB)";
 * and the waits of several requests added up, as a merge shows them.
 */
#include <stdio.h>
#include <string.h>

#include "report.h"

/* Bytes as people count them: "12 bytes", "1.2 kB", "3.4 MB". */
static void waits_put_bytes(struct rp_buffer *out, uint64_t bytes)
{
    if (bytes < 1000) {
        rp_buffer_put_uint(out, bytes);
        rp_buffer_puts(out, bytes == 1 ? " byte" : " bytes");
    } else if (bytes < 1000000) {
        rp_buffer_put_decimal(out, (double)bytes / 1e3, 1);
        rp_buffer_puts(out, " kB");
    } else {
        rp_buffer_put_decimal(out, (double)bytes / 1e6, 1);
        rp_buffer_puts(out, " MB");
    }
}

void rp_report_wait_describe(struct rp_buffer *out, const struct rp_report_wait *wait)
{
    rp_buffer_put_decimal(out, wait->ms, 1);
    rp_buffer_puts(out, " ms on ");
    rp_buffer_put_printable(out, wait->peer, strnlen(wait->peer, sizeof wait->peer), "?");
    rp_buffer_puts(out, " (");
    rp_buffer_put_uint(out, wait->calls);
    rp_buffer_puts(out, " ");
    rp_buffer_put_printable(out, wait->kind, strnlen(wait->kind, sizeof wait->kind), "?");
    if (wait->calls != 1)
        rp_buffer_puts(out, "s");
    if (strcmp(wait->kind, "connect") != 0) {
        rp_buffer_puts(out, ", ");
        waits_put_bytes(out, wait->bytes);
    }
    rp_buffer_puts(out, ")");
}

/* The row of into that wait adds to: its own peer and kind's, a new one
 * while there is room for it beside a row of others, or that of others. */
static struct rp_report_wait *waits_row_for(struct rp_report *into,
                                            const struct rp_report_wait *wait)
{
    struct rp_report_wait *other = NULL;

    for (unsigned i = 0; i < into->wait_count; i++) {
        struct rp_report_wait *row = &into->waits[i];

        if (strcmp(row->peer, wait->peer) == 0 && strcmp(row->kind, wait->kind) == 0)
            return row;
        if (strcmp(row->peer, RP_REPORT_WAIT_OTHER_PEER) == 0)
            other = row;
    }
    if (into->wait_count < RP_REPORT_WAITS_MAX - 1 ||
        (other == NULL && into->wait_count < RP_REPORT_WAITS_MAX)) {
        struct rp_report_wait *row = &into->waits[into->wait_count++];

        *row = (struct rp_report_wait){.calls = 0};
        if (into->wait_count < RP_REPORT_WAITS_MAX)
            snprintf(row->peer, sizeof row->peer, "%s", wait->peer);
        else
            snprintf(row->peer, sizeof row->peer, RP_REPORT_WAIT_OTHER_PEER);
        snprintf(row->kind, sizeof row->kind, "%s", wait->kind);
        return row;
    }
    /* Full, the last row named (a report read from JSON may have nine):
     * it becomes the others'. */
    if (other == NULL) {
        other = &into->waits[into->wait_count - 1];
        snprintf(other->peer, sizeof other->peer, RP_REPORT_WAIT_OTHER_PEER);
    }
    if (strcmp(other->kind, wait->kind) != 0)
        snprintf(other->kind, sizeof other->kind, RP_REPORT_WAIT_MIXED_KIND);
    return other;
}

void rp_report_waits_add(struct rp_report *into, const struct rp_report *from)
{
    for (unsigned i = 0; i < from->wait_count; i++) {
        const struct rp_report_wait *wait = &from->waits[i];
        struct rp_report_wait *row = waits_row_for(into, wait);

        row->calls += wait->calls;
        row->ms += wait->ms;
        row->bytes += wait->bytes;
    }
}
