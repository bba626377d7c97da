/*
 * Named atomics: what each access publishes or reads is in its name, not
 * in an order picked at the call site. The library's lock-free paths (the
 * sample rings, the finish queue, the fd maps, the handoff table) publish
 * with a release store and read with an acquire load; counters and flags
 * that order nothing are relaxed; seq_cst is kept where two threads each
 * store, then load what the other stored (the writer's nap against a push
 * that wakes it, the unwinder's table against a walk that reads it). A
 * compare-and-swap is strong (on x86-64, the only target,
 * weak and strong are one instruction), and fails with the order its
 * success implies: relaxed, or acquire for acq_rel.
 *
 * rp_signal_fence orders the thread's own accesses against its signal
 * handler: the compiler may not move them across it.
 */
#ifndef REQPROF_ATOMIC_H
#define REQPROF_ATOMIC_H

#define rp_atomic_load_relaxed(p) __atomic_load_n((p), __ATOMIC_RELAXED)
#define rp_atomic_load_acquire(p) __atomic_load_n((p), __ATOMIC_ACQUIRE)
#define rp_atomic_load_seq_cst(p) __atomic_load_n((p), __ATOMIC_SEQ_CST)

#define rp_atomic_store_relaxed(p, v) __atomic_store_n((p), (v), __ATOMIC_RELAXED)
#define rp_atomic_store_release(p, v) __atomic_store_n((p), (v), __ATOMIC_RELEASE)
#define rp_atomic_store_seq_cst(p, v) __atomic_store_n((p), (v), __ATOMIC_SEQ_CST)

#define rp_atomic_exchange_relaxed(p, v) __atomic_exchange_n((p), (v), __ATOMIC_RELAXED)
#define rp_atomic_exchange_acquire(p, v) __atomic_exchange_n((p), (v), __ATOMIC_ACQUIRE)
#define rp_atomic_exchange_acq_rel(p, v) __atomic_exchange_n((p), (v), __ATOMIC_ACQ_REL)
#define rp_atomic_exchange_seq_cst(p, v) __atomic_exchange_n((p), (v), __ATOMIC_SEQ_CST)

/* Counters: the value before (fetch_op) or after (op_fetch). */
#define rp_atomic_fetch_add_relaxed(p, v) __atomic_fetch_add((p), (v), __ATOMIC_RELAXED)
#define rp_atomic_fetch_add_seq_cst(p, v) __atomic_fetch_add((p), (v), __ATOMIC_SEQ_CST)
#define rp_atomic_add_fetch_relaxed(p, v) __atomic_add_fetch((p), (v), __ATOMIC_RELAXED)
#define rp_atomic_fetch_sub_relaxed(p, v) __atomic_fetch_sub((p), (v), __ATOMIC_RELAXED)
#define rp_atomic_sub_fetch_relaxed(p, v) __atomic_sub_fetch((p), (v), __ATOMIC_RELAXED)
#define rp_atomic_fetch_and_relaxed(p, v) __atomic_fetch_and((p), (v), __ATOMIC_RELAXED)
#define rp_atomic_fetch_or_relaxed(p, v) __atomic_fetch_or((p), (v), __ATOMIC_RELAXED)

/* *p becomes desired if it holds *expected; else *expected becomes what
 * it holds. Returns whether it swapped. */
#define rp_atomic_cas_relaxed(p, expected, desired)                                      \
    __atomic_compare_exchange_n((p), (expected), (desired), false, __ATOMIC_RELAXED,     \
                                __ATOMIC_RELAXED)
#define rp_atomic_cas_release(p, expected, desired)                                      \
    __atomic_compare_exchange_n((p), (expected), (desired), false, __ATOMIC_RELEASE,     \
                                __ATOMIC_RELAXED)
#define rp_atomic_cas_acq_rel(p, expected, desired)                                      \
    __atomic_compare_exchange_n((p), (expected), (desired), false, __ATOMIC_ACQ_REL,     \
                                __ATOMIC_ACQUIRE)
#define rp_atomic_cas_seq_cst(p, expected, desired)                                      \
    __atomic_compare_exchange_n((p), (expected), (desired), false, __ATOMIC_SEQ_CST,     \
                                __ATOMIC_RELAXED)

#define rp_signal_fence() __atomic_signal_fence(__ATOMIC_SEQ_CST)

#endif
