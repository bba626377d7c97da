/*
 * Unit tests of the writer's hold of deferred samples (preload/
 * stretch_hold.h), the rules by which a stretch's samples reach a request:
 * the RESOLVED record of a stretch gives up its samples in order, weights
 * and frames intact; samples of a stretch whose resolution was lost never
 * go to the next stretch's request and are counted; a resolution with
 * nothing held gives nothing; and a stretch larger than the hold keeps
 * what fits and counts the rest.
 */
#include <stdlib.h>

#include "stretch_hold.h"
#include "unit.h"

static struct rp_stretch_hold hold;

/* A DEFERRED record of stretch, weighing weight, whose frames follow from
 * weight. */
static const struct rp_record *deferred(uint64_t stretch, uint64_t weight,
                                        unsigned frame_count)
{
    static _Alignas(8) unsigned char bytes[RP_RECORD_SIZE_MAX];
    struct rp_record *record = (struct rp_record *)(void *)bytes;
    memset(bytes, 0, sizeof bytes);
    record->size = (uint32_t)RP_RECORD_SIZE(RP_STACK_MAX); /* as reserved */
    record->kind = RP_RECORD_DEFERRED;
    record->frame_count = (uint16_t)frame_count;
    record->request_id = stretch;
    record->value = weight;
    for (unsigned i = 0; i < frame_count; i++)
        record->frames[i] = (void *)(uintptr_t)(weight * 100 + i);
    return record;
}

/* What a resolution gave: weights in order, and whether frames were whole. */
struct taken {
    uint64_t weights[1024];
    unsigned count;
    bool frames_whole;
};

static void take(const struct rp_record *record, void *context)
{
    struct taken *taken = context;
    if (taken->count < 1024)
        taken->weights[taken->count] = record->value;
    taken->count++;
    for (unsigned i = 0; i < record->frame_count; i++)
        if (record->frames[i] != (void *)(uintptr_t)(record->value * 100 + i))
            taken->frames_whole = false;
}

static void hold_reset(void)
{
    memset(&hold, 0, sizeof hold);
}

UNIT_TEST(a_resolved_stretch_gives_up_its_samples_in_order)
{
    hold_reset();
    EXPECT_INT_EQ(0, rp_stretch_hold_add(&hold, deferred(0, 1, 3)));
    EXPECT_INT_EQ(0, rp_stretch_hold_add(&hold, deferred(0, 2, 30)));
    EXPECT_INT_EQ(0, rp_stretch_hold_add(&hold, deferred(0, 3, 0)));
    struct taken taken = {.frames_whole = true};
    EXPECT_INT_EQ(0, rp_stretch_hold_resolve(&hold, 0, take, &taken));
    EXPECT_INT_EQ(3, taken.count);
    EXPECT_INT_EQ(1, taken.weights[0]);
    EXPECT_INT_EQ(2, taken.weights[1]);
    EXPECT_INT_EQ(3, taken.weights[2]);
    EXPECT_TRUE(taken.frames_whole);
    /* Given once: the hold is empty after. */
    taken.count = 0;
    EXPECT_INT_EQ(0, rp_stretch_hold_resolve(&hold, 0, take, &taken));
    EXPECT_INT_EQ(0, taken.count);
}

UNIT_TEST(samples_of_a_stretch_whose_resolution_was_lost_go_to_nobody)
{
    hold_reset();
    (void)rp_stretch_hold_add(&hold, deferred(4, 2, 5));
    (void)rp_stretch_hold_add(&hold, deferred(4, 3, 5));
    /* Stretch 4's RESOLVED record never came (a full ring dropped it). */
    EXPECT_INT_EQ(5, rp_stretch_hold_add(&hold, deferred(5, 7, 5)));
    struct taken taken = {.frames_whole = true};
    EXPECT_INT_EQ(0, rp_stretch_hold_resolve(&hold, 5, take, &taken));
    EXPECT_INT_EQ(1, taken.count);
    EXPECT_INT_EQ(7, taken.weights[0]);
}

UNIT_TEST(a_resolution_of_another_stretch_gives_nothing_and_counts_the_held)
{
    hold_reset();
    (void)rp_stretch_hold_add(&hold, deferred(8, 4, 5));
    struct taken taken = {.frames_whole = true};
    /* Stretch 9's samples were all lost in the ring; 8's resolution too. */
    EXPECT_INT_EQ(4, rp_stretch_hold_resolve(&hold, 9, take, &taken));
    EXPECT_INT_EQ(0, taken.count);
    EXPECT_INT_EQ(0, rp_stretch_hold_resolve(&hold, 9, take, &taken));
}

UNIT_TEST(a_stretch_larger_than_the_hold_keeps_what_fits_and_counts_the_rest)
{
    hold_reset();
    unsigned fit = RP_STRETCH_HOLD_BYTES / RP_RECORD_SIZE(RP_STACK_MAX);
    for (unsigned i = 0; i < fit + 10; i++)
        (void)rp_stretch_hold_add(&hold, deferred(1, 1, RP_STACK_MAX));
    struct taken taken = {.frames_whole = true};
    EXPECT_INT_EQ(10, rp_stretch_hold_resolve(&hold, 1, take, &taken));
    EXPECT_INT_EQ(fit, taken.count);
    EXPECT_TRUE(taken.frames_whole);
}

int main(void)
{
    UNIT_RUN(a_resolved_stretch_gives_up_its_samples_in_order);
    UNIT_RUN(samples_of_a_stretch_whose_resolution_was_lost_go_to_nobody);
    UNIT_RUN(a_resolution_of_another_stretch_gives_nothing_and_counts_the_held);
    UNIT_RUN(a_stretch_larger_than_the_hold_keeps_what_fits_and_counts_the_rest);
    return unit_finish();
}
