/* The report budget's window; see report_budget.h. */
#include "report_budget.h"

#include <stdbool.h>
#include <stdlib.h>

#include "heap.h"

/* Moves the entry at i down to where both its children are slower. */
static void budget_sift_down(struct rp_report_budget *budget, size_t i)
{
    struct rp_budget_entry *heap = budget->heap;
    for (;;) {
        size_t fastest = i, left = 2 * i + 1, right = left + 1;
        if (left < budget->count &&
            heap[left].duration_ns < heap[fastest].duration_ns)
            fastest = left;
        if (right < budget->count &&
            heap[right].duration_ns < heap[fastest].duration_ns)
            fastest = right;
        if (fastest == i)
            return;
        struct rp_budget_entry swap = heap[i];
        heap[i] = heap[fastest];
        heap[fastest] = swap;
        i = fastest;
    }
}

/* Moves the entry at i up to where its parent is faster. */
static void budget_sift_up(struct rp_report_budget *budget, size_t i)
{
    struct rp_budget_entry *heap = budget->heap;
    while (i > 0 && heap[(i - 1) / 2].duration_ns > heap[i].duration_ns) {
        struct rp_budget_entry swap = heap[i];
        heap[i] = heap[(i - 1) / 2];
        heap[(i - 1) / 2] = swap;
        i = (i - 1) / 2;
    }
}

/* Makes room for one more entry; false when out of memory. */
static bool budget_reserve_one(struct rp_report_budget *budget)
{
    if (budget->count < budget->capacity)
        return true;
    size_t capacity = budget->capacity ? budget->capacity * 2 : 16;
    if (capacity > budget->limit)
        capacity = budget->limit;
    struct rp_budget_entry *heap = rp_heap_realloc(budget->heap, capacity * sizeof *heap);
    if (heap == NULL)
        return false;
    budget->heap = heap;
    budget->capacity = capacity;
    return true;
}

void *rp_report_budget_offer(struct rp_report_budget *budget,
                             uint64_t duration_ns, void *item)
{
    if (budget->count < budget->limit) {
        if (!budget_reserve_one(budget))
            return item;
        budget->heap[budget->count] =
            (struct rp_budget_entry){duration_ns, budget->offers++, item};
        budget_sift_up(budget, budget->count++);
        return NULL;
    }
    budget->offers++;
    if (duration_ns <= budget->heap[0].duration_ns)
        return item;
    void *displaced = budget->heap[0].item;
    budget->heap[0] =
        (struct rp_budget_entry){duration_ns, budget->offers - 1, item};
    budget_sift_down(budget, 0);
    return displaced;
}

/* Latest offered first: take pops from the end. */
static int budget_compare_latest_first(const void *a, const void *b)
{
    const struct rp_budget_entry *x = a, *y = b;
    return (x->offered < y->offered) - (x->offered > y->offered);
}

void rp_report_budget_close(struct rp_report_budget *budget)
{
    qsort(budget->heap, budget->count, sizeof *budget->heap,
          budget_compare_latest_first);
    budget->offers = 0;
}

void *rp_report_budget_take(struct rp_report_budget *budget)
{
    return budget->count > 0 ? budget->heap[--budget->count].item : NULL;
}

void rp_report_budget_free(struct rp_report_budget *budget)
{
    rp_heap_free(budget->heap);
    budget->heap = NULL;
    budget->count = 0;
    budget->capacity = 0;
}
