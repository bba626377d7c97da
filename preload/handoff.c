/* Requests pending on wake objects; see handoff.h. */
#include "handoff.h"

#include <errno.h>
#include <stddef.h>

#include "atomic.h"
#include "follow.h"
#include "hash.h"
#include "interpose.h"
#include "process.h"

/* Objects with requests pending at once (a slot with none is reused). */
#define HANDOFF_SLOTS 1024u
/* Slots looked at for one object, from its hash on. */
#define HANDOFF_PROBES 8u
/* Requests pending on one object that are told apart (as many as a
 * thread's open set names: a woken thread may share among them all); a
 * wake past them is unrecorded (handoff_slot). */
#define HANDOFF_PENDING_MAX RP_OPEN_MAX
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
    /* Woken threads that took one of the pending requests, not known which
     * (handoff_take): as many pending requests are in threads' hands. A
     * pending request that ends answered was one of them. */
    unsigned shared_takes;
    /* A pending request ended unanswered, its job maybe still queued: no
     * take is known until nothing is pending. */
    bool unknown_until_empty;
    /* The latest request whose wake on the object went unrecorded (no
     * room, or the slot busy): until it ends, a woken thread may be
     * running its job rather than a pending one's, and takes nothing.
     * Raised without the lock. An earlier unrecorded request that
     * outlives it is not known: the approximation of a queue past
     * HANDOFF_PENDING_MAX. */
    uint64_t unrecorded;
    /* Jobs queued on the object as this slot saw them: each wake of a
     * request not pending yet, recorded or not, and each new object the
     * slot is made for. A guess (handoff_go_on) holds while it stays. */
    unsigned queued;
    struct handoff_pending pending[HANDOFF_PENDING_MAX];
};

static struct handoff_slot handoff_slots[HANDOFF_SLOTS];
/* Requests pending in the whole table: a woken thread looks no further
 * when it is 0, the common case of a server that hands nothing over. */
static unsigned handoff_pending_total;
/* The last request that ended in each slot of ids (the highest id), and
 * the last that ended unanswered. */
static uint64_t handoff_ends[HANDOFF_ENDS];
static uint64_t handoff_unanswered_ends[HANDOFF_ENDS];
/* Set once a wake went unrecorded: slots may hold a mark with nothing
 * pending, which a closed fd or a fork child must not inherit. */
static bool handoff_marked;

/* The request this thread took by handoff; 0: none. It is current on the
 * thread while thread->current_request still equals it. A thread that
 * took one of several shares (thread->sharing) instead. */
static __thread uint64_t handoff_taken __attribute__((tls_model("initial-exec")));
/* The object this thread last took work from: a pool's queue, where it
 * looks for its next job after handing one on (handoff_go_on). */
static __thread uintptr_t handoff_source __attribute__((tls_model("initial-exec")));

static bool handoff_request_has_ended(uint64_t request_id)
{
    return rp_atomic_load_acquire(&handoff_ends[request_id % HANDOFF_ENDS]) >=
           request_id;
}

/* Raises *highest to request_id. Ids grow: a later request of the same
 * slot may have ended first. */
static void handoff_raise(uint64_t *highest, uint64_t request_id)
{
    uint64_t known = rp_atomic_load_relaxed(highest);
    while (known < request_id &&
           !rp_atomic_cas_release(highest, &known, request_id))
        ;
}

/* Whether request_id, which ended, ended unanswered (a later request of
 * its slot that did so counts for it: never a take guessed). */
static bool handoff_ended_unanswered(uint64_t request_id)
{
    return rp_atomic_load_acquire(&handoff_unanswered_ends[request_id % HANDOFF_ENDS]) >=
           request_id;
}

void rp_handoff_request_ended(uint64_t request_id, bool answered)
{
    /* The unanswered mark first: whoever sees the end sees it. */
    if (!answered)
        handoff_raise(&handoff_unanswered_ends[request_id % HANDOFF_ENDS], request_id);
    handoff_raise(&handoff_ends[request_id % HANDOFF_ENDS], request_id);
}

static unsigned handoff_hash(uintptr_t object)
{
    return (unsigned)(rp_hash_mix(object) % HANDOFF_SLOTS);
}

static bool handoff_try_lock(struct handoff_slot *slot)
{
    return !rp_atomic_exchange_acquire(&slot->lock, 1);
}

static void handoff_unlock(struct handoff_slot *slot)
{
    rp_atomic_store_release(&slot->lock, 0);
}

/* Under the slot's lock: drops entry index. */
static void handoff_remove(struct handoff_slot *slot, unsigned index)
{
    slot->pending[index] = slot->pending[slot->count - 1];
    slot->pending[slot->count - 1].request = 0;
    rp_atomic_store_relaxed(&slot->count, slot->count - 1);
    rp_atomic_fetch_sub_relaxed(&handoff_pending_total, 1);
}

/* Under the slot's lock: drops the requests that ended. */
static void handoff_drop_ended(struct handoff_slot *slot)
{
    for (unsigned i = slot->count; i-- > 0;) {
        uint64_t request_id = slot->pending[i].request;
        if (!handoff_request_has_ended(request_id))
            continue;
        handoff_remove(slot, i);
        if (handoff_ended_unanswered(request_id))
            slot->unknown_until_empty = true;
        else if (slot->shared_takes > 0)
            slot->shared_takes--;
    }
    if (slot->count == 0) {
        slot->shared_takes = 0;
        slot->unknown_until_empty = false;
    }
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
        uintptr_t key = rp_atomic_load_relaxed(&slot->object);
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
            (key == 0 || rp_atomic_load_relaxed(&slot->count) == 0 ||
             handoff_request_has_ended(
                 rp_atomic_load_relaxed(&slot->pending[0].request))) &&
            handoff_request_has_ended(rp_atomic_load_relaxed(&slot->unrecorded)))
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
    spare->shared_takes = 0;
    spare->unknown_until_empty = false;
    rp_atomic_fetch_add_relaxed(&spare->queued, 1);
    rp_atomic_store_relaxed(&spare->object, object);
    return spare;
}

/* A wake by request_id on object was not recorded: until that request
 * ends, what a woken thread takes from object is not known (see
 * handoff_slot). An object with no slot has nothing pending to mistake. */
static void handoff_mark_unrecorded(uintptr_t object, uint64_t request_id)
{
    unsigned home = handoff_hash(object);
    for (unsigned probe = 0; probe < HANDOFF_PROBES; probe++) {
        struct handoff_slot *slot = &handoff_slots[(home + probe) % HANDOFF_SLOTS];
        if (rp_atomic_load_relaxed(&slot->object) != object)
            continue;
        if (!rp_atomic_load_relaxed(&handoff_marked))
            rp_atomic_store_relaxed(&handoff_marked, true);
        handoff_raise(&slot->unrecorded, request_id);
        rp_atomic_fetch_add_relaxed(&slot->queued, 1);
        return;
    }
}

/* Whether the calling thread holds work it took by handoff. */
static bool handoff_holds(const struct rp_thread *thread)
{
    return handoff_taken != 0 || (thread != NULL && thread->sharing);
}

/* Before the thread waits or hands its work on (handed_on): a request it
 * took by handoff is no longer current, and work it shared is shared no
 * more. Not while the thread is switching its request (a server's signal
 * handler's call landing in reqprof's own). */
static void handoff_release(struct rp_thread *thread, bool handed_on)
{
    uint64_t taken = handoff_taken;
    handoff_taken = 0;
    if (thread == NULL || thread->switching)
        return;
    if (handed_on)
        rp_thread_hand_on_share(thread);
    else
        rp_thread_stop_sharing(thread, 0);
    if (taken != 0 && thread->current_request == taken)
        rp_thread_set_current(thread, 0, NULL);
}

/* What a woken thread takes up: nothing (count 0), one request (count 1,
 * with its connection), or one of several, not known which. */
struct handoff_taking {
    unsigned count;
    uint64_t requests[HANDOFF_PENDING_MAX];
    struct rp_conn *conn;
};

/* How a thread comes to take work from an object. */
enum handoff_way {
    HANDOFF_WOKEN,        /* woken on it */
    HANDOFF_WOKEN_ALONE,  /* woken on it, and may not share (an event
                           * loop's thread: the writes that follow name
                           * each request) */
    HANDOFF_GOING_ON,     /* no wake: it goes on to its next job
                           * (handoff_go_on) */
};

/*
 * Under the slot's lock: what the woken thread takes. The one live request
 * pending there, which leaves the object unless every waiter takes it; or,
 * with several pending (a queue holding several requests' jobs), one of
 * them, not known which, if the thread may share and some pending request
 * is not already in another woken thread's hands; or nothing, while a
 * wake on the object went unrecorded. A thread going on takes as a woken
 * one would, but all pending requests and none for good: its guess
 * leaves them to the woken threads.
 */
static void handoff_take(struct handoff_slot *slot, enum handoff_way way,
                         struct handoff_taking *taking)
{
    handoff_drop_ended(slot);
    taking->count = 0;
    uint64_t unrecorded = rp_atomic_load_relaxed(&slot->unrecorded);
    if (unrecorded != 0 && handoff_request_has_ended(unrecorded)) {
        /* Its job was run, or, unanswered, may still be queued. The mark
         * goes (unless raised meanwhile: then it stays). */
        if (handoff_ended_unanswered(unrecorded) && slot->count != 0)
            slot->unknown_until_empty = true;
        rp_atomic_cas_relaxed(&slot->unrecorded, &unrecorded, 0);
    }
    if (!handoff_request_has_ended(rp_atomic_load_relaxed(&slot->unrecorded)) ||
        slot->unknown_until_empty || slot->shared_takes >= slot->count)
        return; /* a job not recorded, or none left to take: a spurious wake */
    if (slot->count == 1 && way != HANDOFF_GOING_ON) {
        taking->count = 1;
        taking->requests[0] = slot->pending[0].request;
        taking->conn = slot->pending[0].conn;
        if (!slot->pending[0].wakes_all)
            handoff_remove(slot, 0);
        return;
    }
    if (way == HANDOFF_WOKEN_ALONE)
        return;
    for (unsigned i = 0; i < slot->count; i++)
        taking->requests[i] = slot->pending[i].request;
    taking->count = slot->count;
    if (way == HANDOFF_WOKEN)
        slot->shared_takes++;
}

/*
 * The thread handed its job on (a wake by it). A pool thread that finds
 * its queue not empty takes the next job without waiting, and no wake
 * says so: it guesses that its next job is one of the requests pending
 * on the object it last took work from (rp_thread_share tells when the
 * guess stands). Not an event loop's thread, whose writes name each
 * request.
 */
static void handoff_go_on(struct rp_thread *thread)
{
    uintptr_t source = handoff_source;
    if (source == 0 || thread->deferring || thread->switching ||
        thread->current_request != 0)
        return;
    struct handoff_slot *slot = handoff_lock_slot(source, false);
    if (slot == NULL)
        return;
    struct handoff_taking taking = {.count = 0};
    handoff_take(slot, HANDOFF_GOING_ON, &taking);
    unsigned queued = rp_atomic_load_relaxed(&slot->queued);
    handoff_unlock(slot);
    if (taking.count != 0)
        rp_thread_share(thread, taking.requests, taking.count, &slot->queued, queued);
}

void rp_handoff_record_wake(struct rp_thread *thread, uintptr_t object, bool wakes_all)
{
    if (!rp_interpose_active())
        return;
    int saved_errno = errno;
    struct rp_conn *conn;
    uint64_t request_id = rp_thread_waker_request(thread, &conn);
    struct handoff_slot *slot = request_id != 0 ? handoff_lock_slot(object, true) : NULL;
    bool recorded = false;
    if (slot != NULL) {
        handoff_drop_ended(slot);
        unsigned i = 0;
        while (i < slot->count && slot->pending[i].request != request_id)
            i++;
        if (i < slot->count) {
            slot->pending[i].wakes_all |= wakes_all;
            recorded = true;
        } else if (i < HANDOFF_PENDING_MAX) {
            slot->pending[i] = (struct handoff_pending){request_id, conn, wakes_all};
            rp_atomic_store_relaxed(&slot->count, i + 1);
            rp_atomic_fetch_add_relaxed(&handoff_pending_total, 1);
            rp_atomic_fetch_add_relaxed(&slot->queued, 1);
            recorded = true;
        }
        handoff_unlock(slot);
    }
    if (request_id != 0 && !recorded)
        handoff_mark_unrecorded(object, request_id);
    if ((request_id != 0 && request_id == handoff_taken) || thread->sharing) {
        handoff_release(thread, true);
        if (object != handoff_source)
            handoff_go_on(thread);
    }
    errno = saved_errno;
}

void rp_handoff_before_wait(void)
{
    struct rp_thread *thread = rp_thread_state;
    if (__builtin_expect(!handoff_holds(thread), 1))
        return;
    int saved_errno = errno;
    handoff_release(thread, false);
    errno = saved_errno;
}

void rp_handoff_woken(uintptr_t object)
{
    if (__builtin_expect(rp_atomic_load_relaxed(&handoff_pending_total) == 0, 1) ||
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
    /* An event loop's thread answers what it was handed by writes that
     * name their request (its stretches): work of one of several handed
     * requests is its own stretch's to resolve, not a share. */
    bool may_share = state == NULL || !state->deferring;
    struct handoff_slot *slot = handoff_lock_slot(object, false);
    struct handoff_taking taking = {.count = 0};
    if (slot != NULL) {
        handoff_take(slot, may_share ? HANDOFF_WOKEN : HANDOFF_WOKEN_ALONE, &taking);
        handoff_unlock(slot);
    }
    struct rp_thread *thread = taking.count != 0 ? rp_thread_self() : NULL;
    if (thread != NULL && !thread->switching) {
        if (may_share)
            handoff_source = object;
        if (taking.count == 1) {
            rp_thread_set_current(thread, taking.requests[0], taking.conn);
            handoff_taken = taking.requests[0];
        } else {
            rp_thread_share(thread, taking.requests, taking.count, NULL, 0);
        }
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
    if (__builtin_expect(!handoff_holds(rp_thread_state), 1) &&
        rp_atomic_load_relaxed(&handoff_pending_total) == 0)
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
    if (__builtin_expect(rp_atomic_load_relaxed(&handoff_pending_total) == 0 &&
                             !rp_atomic_load_relaxed(&handoff_marked),
                         1))
        return;
    struct handoff_slot *slot = handoff_lock_slot(rp_handoff_fd_key(fd), false);
    if (slot == NULL)
        return;
    while (slot->count > 0)
        handoff_remove(slot, slot->count - 1);
    slot->shared_takes = 0;
    slot->unknown_until_empty = false;
    slot->unrecorded = 0;
    handoff_unlock(slot);
}

void rp_handoff_forget_all(void)
{
    /* Only slots with something pending are written: each page written
     * costs the child a copy. No other thread runs. */
    handoff_taken = 0;
    handoff_source = 0;
    if (handoff_pending_total == 0 && !handoff_marked)
        return;
    for (unsigned i = 0; i < HANDOFF_SLOTS; i++) {
        struct handoff_slot *slot = &handoff_slots[i];
        if (slot->count != 0 || slot->lock != 0 || slot->unrecorded != 0) {
            slot->count = 0;
            slot->lock = 0;
            slot->shared_takes = 0;
            slot->unknown_until_empty = false;
            slot->unrecorded = 0;
        }
    }
    handoff_pending_total = 0;
}
