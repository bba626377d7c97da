/* Deferred samples waiting for their stretch's end; see stretch_hold.h. */
#include "stretch_hold.h"

#include <string.h>

/* Intervals that the held records stand for. */
static uint64_t stretch_hold_weight(const struct rp_stretch_hold *hold)
{
    uint64_t weight = 0;
    for (uint32_t offset = 0; offset < hold->used;) {
        const struct rp_record *record = (const void *)&hold->bytes[offset];
        weight += record->value;
        offset += record->size;
    }
    return weight;
}

/* Forgets what is held and starts on stretch; returns the intervals of
 * samples forgotten. */
static uint64_t stretch_hold_restart(struct rp_stretch_hold *hold, uint64_t stretch)
{
    uint64_t lost = stretch_hold_weight(hold) + hold->dropped;
    hold->stretch = stretch;
    hold->used = 0;
    hold->dropped = 0;
    return lost;
}

uint64_t rp_stretch_hold_add(struct rp_stretch_hold *hold,
                             const struct rp_record *record)
{
    uint64_t stretch = record->request_id;
    uint64_t lost = 0;
    if (stretch != hold->stretch)
        lost = stretch_hold_restart(hold, stretch);
    uint32_t size = (uint32_t)RP_RECORD_SIZE(record->frame_count);
    if (size > RP_STRETCH_HOLD_BYTES - hold->used) {
        hold->dropped += record->value;
        return lost;
    }
    memcpy(&hold->bytes[hold->used], record, size);
    ((struct rp_record *)(void *)&hold->bytes[hold->used])->size = size;
    hold->used += size;
    return lost;
}

uint64_t rp_stretch_hold_resolve(struct rp_stretch_hold *hold, uint64_t stretch,
                                 void (*take)(const struct rp_record *record,
                                              void *context),
                                 void *context)
{
    if (stretch != hold->stretch)
        return stretch_hold_restart(hold, stretch);
    for (uint32_t offset = 0; offset < hold->used;) {
        const struct rp_record *record = (const void *)&hold->bytes[offset];
        take(record, context);
        offset += record->size;
    }
    uint64_t dropped = hold->dropped;
    hold->used = 0;
    hold->dropped = 0;
    return dropped;
}
