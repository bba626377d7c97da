/*
 * The writer's side of deferred samples (issue 11, item 3): the samples an
 * event loop's thread took between two I/O events on no request wait here
 * until the event that ends their stretch says whose they are.
 *
 * A thread's ring brings, in order, DEFERRED records tagged with the
 * thread's stretch number and then one RESOLVED record for that number
 * (sample_ring.h). The hold keeps the DEFERRED records of one stretch, as
 * they came, and gives them up when the RESOLVED record of that stretch
 * comes. A record of a later stretch means the earlier one's RESOLVED
 * record was lost (the ring was full): its samples are dropped, never
 * given to the later stretch's request. The hold takes at most
 * RP_STRETCH_HOLD_BYTES of records; the rest are dropped and counted.
 * Writer-thread only: no locks.
 */
#ifndef REQPROF_STRETCH_HOLD_H
#define REQPROF_STRETCH_HOLD_H

#include <stdint.h>

#include "sample_ring.h"

/* Room for about 230 samples of 30 frames. */
#define RP_STRETCH_HOLD_BYTES (2 * RP_RING_BYTES)

struct rp_stretch_hold {
    uint64_t stretch; /* the stretch whose records are held */
    uint32_t used;    /* bytes of records held */
    uint64_t dropped; /* intervals of samples of that stretch that did not
                       * fit, or were lost with their record in the ring */
    _Alignas(8) unsigned char bytes[RP_STRETCH_HOLD_BYTES];
};

/* Keeps a DEFERRED record; returns the intervals of samples dropped for
 * good meanwhile (a stretch whose resolution never came). */
uint64_t rp_stretch_hold_add(struct rp_stretch_hold *hold,
                             const struct rp_record *record);

/*
 * The RESOLVED record of stretch came: calls take for each record held of
 * that stretch, in order, and empties the hold. Returns the intervals of
 * samples of that stretch that were dropped (for the request that gets
 * the rest to count), or of another stretch, lost.
 */
uint64_t rp_stretch_hold_resolve(struct rp_stretch_hold *hold, uint64_t stretch,
                                 void (*take)(const struct rp_record *record,
                                              void *context),
                                 void *context);

#endif
