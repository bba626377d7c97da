/* Requests pending on wake objects; see handoff.h. */
#include "handoff.h"

#include <errno.h>
#include <stddef.h>

#include "follow.h"
#include "interpose.h"
#include "process.h"

/* Objects with requests pending at once (a slot with none is reused). */
#define HANDOFF_SLOTS 1024u
/* Slots looked at for one object, from its hash on. */
#define HANDOFF_PROBES 8u
/* Requests pending on one object that are told apart; a wake past them
 * records nothing, and its object's wakes go unattributed until those
 * requests end. */
#define HANDOFF_PENDING_MAX 4u
/* Ends remembered, slot id % HANDOFF_ENDS: a request older than the last
 * HANDOFF_ENDS that ended counts as ended when its slot was reused. */
#define HANDOFF_ENDS 4096u

struct handoff_pending {
    uint64_t request;     /* 0: free */
    struct rp_conn *conn; /* its client connection (for follow.h) */
    bool wakes_all;       /* a broadcast's: every woken thread takes it */
};

struct handoff_slot {
    uintptr_t object;  /* the wake object's key; 0: never used. Read
                        * without the lock to find the slot; written
                        * under it */
    unsigned lock;     /* try-lock: 1 while a thread updates the slot */
    unsigned count;    /* pending[] entries in use (read without the lock
                        * to find a slot to reuse) */
    struct handoff_pending pending[HANDOFF_PENDING_MAX];
};

static struct handoff_slot handoff_slots[HANDOFF_SLOTS];
/* Requests pending in the whole table: a woken thread looks no further
 * when it is 0, the common case of a server that hands nothing over. */
static unsigned handoff_pending_total;
/* The last request that ended in each slot of ids (the highest id). */
static uint64_t handoff_ends[HANDOFF_ENDS];

/* The request this thread took by handoff; 0: none. It is current on the
 * thread while thread->current_request still equals it. */
static __thread uint64_t handoff_taken __attribute__((tls_model("initial-exec")));

static bool handoff_request_has_ended(uint64_t request_id)
{
    return __atomic_load_n(&handoff_ends[request_id % HANDOFF_ENDS], __ATOMIC_ACQUIRE) >=
           request_id;
}

void rp_handoff_request_ended(uint64_t request_id)
{
    uint64_t *end = &handoff_ends[request_id % HANDOFF_ENDS];
    uint64_t known = __atomic_load_n(end, __ATOMIC_RELAXED);
    /* Ids grow: a later request of the same slot may have ended first. */
    while (known < request_id &&
           !__atomic_compare_exchange_n(end, &known, request_id, true, __ATOMIC_RELEASE,
                                        __ATOMIC_RELAXED))
        ;
}

static unsigned handoff_hash(uintptr_t object)
{
    uint64_t mixed = (uint64_t)object * 0x9e3779b97f4a7c15u;
    return (unsigned)(mixed >> 40) % HANDOFF_SLOTS;
}

static bool handoff_try_lock(struct handoff_slot *slot)
{
    return !__atomic_exchange_n(&slot->lock, 1, __ATOMIC_ACQUIRE);
}

static void handoff_unlock(struct handoff_slot *slot)
{
    __atomic_store_n(&slot->lock, 0, __ATOMIC_RELEASE);
}

/* Under the slot's lock: drops entry index. */
static void handoff_remove(struct handoff_slot *slot, unsigned index)
{
    slot->pending[index] = slot->pending[slot->count - 1];
    slot->pending[slot->count - 1].request = 0;
    __atomic_store_n(&slot->count, slot->count - 1, __ATOMIC_RELAXED);
    __atomic_fetch_sub(&handoff_pending_total, 1, __ATOMIC_RELAXED);
}

/* Under the slot's lock: drops the requests that ended. */
static void handoff_drop_ended(struct handoff_slot *slot)
{
    for (unsigned i = slot->count; i-- > 0;)
        if (handoff_request_has_ended(slot->pending[i].request))
            handoff_remove(slot, i);
}

/*
 * Locks object's slot and returns it; with create, a slot of no object or
 * with nothing pending becomes object's. NULL: none, or busy.
 */
static struct handoff_slot *handoff_lock_slot(uintptr_t object, bool create)
{
    unsigned home = handoff_hash(object);
    struct handoff_slot *spare = NULL;
    for (unsigned probe = 0; probe < HANDOFF_PROBES; probe++) {
        struct handoff_slot *slot = &handoff_slots[(home + probe) % HANDOFF_SLOTS];
        uintptr_t key = __atomic_load_n(&slot->object, __ATOMIC_RELAXED);
        if (key == object) {
            if (!handoff_try_lock(slot))
                return NULL;
            if (slot->object == object)
                return slot;
            handoff_unlock(slot); /* reused meanwhile */
            return NULL;
        }
        /* A slot whose first request ended may have nothing live left
         * (its object is woken no more): looked at under its lock. */
        if (create && spare == NULL &&
            (key == 0 || __atomic_load_n(&slot->count, __ATOMIC_RELAXED) == 0 ||
             handoff_request_has_ended(
                 __atomic_load_n(&slot->pending[0].request, __ATOMIC_RELAXED))))
            spare = slot;
    }
    if (spare == NULL || !handoff_try_lock(spare))
        return NULL;
    if (spare->count != 0) {
        handoff_drop_ended(spare);
        if (spare->count != 0) {
            handoff_unlock(spare);
            return NULL;
        }
    }
    __atomic_store_n(&spare->object, object, __ATOMIC_RELAXED);
    return spare;
}

/* Before the thread waits or hands its request on: a request it took by
 * handoff is no longer current. Not while the thread is switching its
 * request (a server's signal handler's call landing in reqprof's own). */
static void handoff_release(struct rp_thread *thread)
{
    uint64_t taken = handoff_taken;
    handoff_taken = 0;
    if (thread == NULL || taken == 0 || thread->current_request != taken ||
        thread->switching)
        return;
    rp_thread_set_current(thread, 0, NULL);
}

void rp_handoff_record_wake(struct rp_thread *thread, uintptr_t object, bool wakes_all)
{
    if (!rp_interpose_active())
        return;
    int saved_errno = errno;
    struct rp_conn *conn;
    uint64_t request_id = rp_thread_waker_request(thread, &conn);
    struct handoff_slot *slot = request_id != 0 ? handoff_lock_slot(object, true) : NULL;
    if (slot != NULL) {
        handoff_drop_ended(slot);
        unsigned i = 0;
        while (i < slot->count && slot->pending[i].request != request_id)
            i++;
        if (i < slot->count) {
            slot->pending[i].wakes_all |= wakes_all;
        } else if (i < HANDOFF_PENDING_MAX) {
            slot->pending[i] = (struct handoff_pending){request_id, conn, wakes_all};
            __atomic_store_n(&slot->count, i + 1, __ATOMIC_RELAXED);
            __atomic_fetch_add(&handoff_pending_total, 1, __ATOMIC_RELAXED);
        }
        handoff_unlock(slot);
    }
    if (request_id != 0 && request_id == handoff_taken)
        handoff_release(thread);
    errno = saved_errno;
}

void rp_handoff_before_wait(void)
{
    if (__builtin_expect(handoff_taken == 0, 1))
        return;
    int saved_errno = errno;
    handoff_release(rp_thread_state);
    errno = saved_errno;
}

/*
 * Under the slot's lock: the one live request pending there, which leaves
 * the object unless every waiter takes it; false when there is none or
 * more than one (a queue holding several requests' jobs: which one this
 * thread took is not known). With the shared rule of issue 11's item 4,
 * several would be shared among the thread's samples instead of left
 * unattributed.
 */
static bool handoff_take(struct handoff_slot *slot, struct handoff_pending *taken)
{
    handoff_drop_ended(slot);
    if (slot->count != 1)
        return false;
    *taken = slot->pending[0];
    if (!taken->wakes_all)
        handoff_remove(slot, 0);
    return true;
}

void rp_handoff_woken(uintptr_t object)
{
    if (__builtin_expect(__atomic_load_n(&handoff_pending_total, __ATOMIC_RELAXED) == 0, 1) ||
        !rp_interpose_active())
        return;
    struct rp_thread *state = rp_thread_state;
    uint64_t own = state != NULL ? state->current_request : 0;
    /* A thread on a request of its own keeps it (a thread per connection
     * woken by its worker's answer): only a request that ended is no
     * longer its own. */
    if (own != 0 && !handoff_request_has_ended(own))
        return;
    int saved_errno = errno;
    struct handoff_slot *slot = handoff_lock_slot(object, false);
    struct handoff_pending taken;
    bool found = slot != NULL && handoff_take(slot, &taken);
    if (slot != NULL)
        handoff_unlock(slot);
    struct rp_thread *thread = found ? rp_thread_self() : NULL;
    if (thread != NULL && !thread->switching) {
        rp_thread_set_current(thread, taken.request, taken.conn);
        handoff_taken = taken.request;
    }
    errno = saved_errno;
}

void rp_handoff_record_fd_wake(struct rp_thread *thread, int fd)
{
    int saved_errno = errno;
    if (rp_follow_options(fd) & RP_FOLLOW_HANDOFF)
        rp_handoff_record_wake(thread, rp_handoff_fd_key(fd), false);
    errno = saved_errno;
}

void rp_handoff_fd_read(int fd)
{
    if (__builtin_expect(handoff_taken == 0, 1) &&
        __atomic_load_n(&handoff_pending_total, __ATOMIC_RELAXED) == 0)
        return;
    int saved_errno = errno;
    if (rp_follow_options(fd) & RP_FOLLOW_HANDOFF) {
        rp_handoff_before_wait();
        rp_handoff_woken(rp_handoff_fd_key(fd));
    }
    errno = saved_errno;
}

void rp_handoff_forget_fd(int fd)
{
    if (__builtin_expect(__atomic_load_n(&handoff_pending_total, __ATOMIC_RELAXED) == 0, 1))
        return;
    struct handoff_slot *slot = handoff_lock_slot(rp_handoff_fd_key(fd), false);
    if (slot == NULL)
        return;
    while (slot->count > 0)
        handoff_remove(slot, slot->count - 1);
    handoff_unlock(slot);
}

void rp_handoff_forget_all(void)
{
    /* Only slots with something pending are written: each page written
     * costs the child a copy. No other thread runs. */
    handoff_taken = 0;
    if (handoff_pending_total == 0)
        return;
    for (unsigned i = 0; i < HANDOFF_SLOTS; i++) {
        struct handoff_slot *slot = &handoff_slots[i];
        if (slot->count != 0 || slot->lock != 0) {
            slot->count = 0;
            slot->lock = 0;
        }
    }
    handoff_pending_total = 0;
}
