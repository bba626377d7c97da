/*
 * REQPROF_MAX_REPORTS: the slowest requests of a window (a second) get
 * their report files, at most a set number of them.
 *
 * The writer offers each request that is to get a report to the open
 * window. The window holds the slowest offered so far in a min-heap by
 * duration, so the one a slower request displaces is found at once, and
 * the writer reports the survivors when the window closes. A request is
 * thus never skipped while a faster one of its window gets a report.
 * Writer thread only.
 */
#ifndef REQPROF_REPORT_BUDGET_H
#define REQPROF_REPORT_BUDGET_H

#include <stddef.h>
#include <stdint.h>

/* One held request. */
struct rp_budget_entry {
    uint64_t duration_ns;
    uint64_t offered;   /* offers before this one in the window */
    void *item;         /* the caller's */
};

/* A window's reports. Zero-initialised, with limit set, it is empty. */
struct rp_report_budget {
    size_t limit;                    /* reports per window, at least 1 */
    struct rp_budget_entry *heap;    /* the fastest held at heap[0] */
    size_t count;
    size_t capacity;                 /* grows up to limit as needed */
    uint64_t offers;                 /* made in the window so far */
};

/*
 * Offers item, a request that took duration_ns. Returns the item that
 * gets no report: NULL when the window had room, item itself when the
 * window holds limit requests at least as slow (or no memory was left to
 * hold it), else the fastest held one, which item displaces.
 */
void *rp_report_budget_offer(struct rp_report_budget *budget,
                             uint64_t duration_ns, void *item);

/*
 * Closes the window. rp_report_budget_take then gives the items held in the
 * order they were offered (index lines keep the order requests ended in),
 * one a call, and NULL once they are all taken; the next offer opens the
 * next window.
 */
void rp_report_budget_close(struct rp_report_budget *budget);
void *rp_report_budget_take(struct rp_report_budget *budget);

/* Frees the heap; the items are the caller's. */
void rp_report_budget_free(struct rp_report_budget *budget);

#endif
