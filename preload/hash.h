/*
 * The one hash of reqprof's tables: a 64-bit value (an address, an id, a
 * running string hash) spread so that every input bit moves every output
 * bit, which a table indexed by the low bits (or by % its size) needs.
 */
#ifndef REQPROF_HASH_H
#define REQPROF_HASH_H

#include <stdint.h>

/* MurmurHash3's 64-bit finaliser. */
static inline uint64_t rp_hash_mix(uint64_t value)
{
    value ^= value >> 33;
    value *= UINT64_C(0xff51afd7ed558ccd);
    value ^= value >> 33;
    value *= UINT64_C(0xc4ceb9fe1a85ec53);
    value ^= value >> 33;
    return value;
}

#endif
