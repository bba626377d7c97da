/* The bounded queue of finished requests; see finish_queue.h. */
#include "finish_queue.h"

#include <stddef.h>
#include <string.h>

/* Power of two. At ~560 bytes a cell this is ~1.1 MiB of address space,
 * touched only as far as the queue ever fills. */
#define FINISH_QUEUE_SIZE 2048

struct finish_cell {
    size_t sequence; /* == position: free for that push; position+1: full */
    struct rp_request request;
};

static struct finish_cell finish_cells[FINISH_QUEUE_SIZE];
static size_t finish_push_position;
static size_t finish_pop_position;

void rp_finish_queue_init(void)
{
    for (size_t i = 0; i < FINISH_QUEUE_SIZE; i++)
        __atomic_store_n(&finish_cells[i].sequence, i, __ATOMIC_RELAXED);
    finish_push_position = 0;
    finish_pop_position = 0;
}

bool rp_finish_queue_push(const struct rp_request *request)
{
    size_t position = __atomic_load_n(&finish_push_position, __ATOMIC_RELAXED);
    for (;;) {
        struct finish_cell *cell = &finish_cells[position & (FINISH_QUEUE_SIZE - 1)];
        size_t sequence = __atomic_load_n(&cell->sequence, __ATOMIC_ACQUIRE);
        ptrdiff_t lag = (ptrdiff_t)(sequence - position);
        if (lag == 0) {
            if (__atomic_compare_exchange_n(&finish_push_position, &position,
                                            position + 1, true, __ATOMIC_RELAXED,
                                            __ATOMIC_RELAXED)) {
                memcpy(&cell->request, request, sizeof *request);
                __atomic_store_n(&cell->sequence, position + 1, __ATOMIC_RELEASE);
                return true;
            }
        } else if (lag < 0) {
            return false;
        } else {
            position = __atomic_load_n(&finish_push_position, __ATOMIC_RELAXED);
        }
    }
}

size_t rp_finish_queue_pushed(void)
{
    return __atomic_load_n(&finish_push_position, __ATOMIC_ACQUIRE);
}

bool rp_finish_queue_pop(struct rp_request *request)
{
    size_t position = finish_pop_position;
    struct finish_cell *cell = &finish_cells[position & (FINISH_QUEUE_SIZE - 1)];
    if (__atomic_load_n(&cell->sequence, __ATOMIC_ACQUIRE) != position + 1)
        return false;
    memcpy(request, &cell->request, sizeof *request);
    __atomic_store_n(&cell->sequence, position + FINISH_QUEUE_SIZE, __ATOMIC_RELEASE);
    finish_pop_position = position + 1;
    return true;
}
