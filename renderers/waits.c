/*
 * A request's waits as the text view says them (the HTML view's script
 * says them the same way): "81.2 ms on 127.0.0.1:5432 (3 reads, 1.2 kB)".
 */
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
