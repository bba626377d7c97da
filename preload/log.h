/*
 * reqprof's voice on the server's stderr: one line, prefixed "reqprof: ",
 * saying what went wrong, why, and what to do. Lines go straight to the
 * real write(2), unbuffered, so they interleave sanely with the server's
 * own output and never reach reqprof's own interposition.
 */
#ifndef REQPROF_LOG_H
#define REQPROF_LOG_H

#include <stdbool.h>

/* Writes one line. Not for signal handlers (it formats with vsnprintf). */
void rp_log(const char *format, ...) __attribute__((format(printf, 1, 2)));

/*
 * Writes one line unless *said is already set, then sets it: a condition
 * that lasts (an unwritable directory) is reported once, not per request.
 */
void rp_log_once(bool *said, const char *format, ...)
    __attribute__((format(printf, 2, 3)));

#endif
