/* What epoll fds watch, in summary; see epoll_set.h. */
#include "epoll_set.h"

#include <errno.h>
#include <stdint.h>
#include <sys/epoll.h>

#include "atomic.h"
#include "fd_map.h"
#include "follow.h"

/* One epoll fd. Counters are changed with atomic adds (several threads
 * may epoll_ctl one set); a wait reads them without a lock: a torn read
 * misjudges one wait, and only while the set changes under it. */
struct epoll_set {
    uint32_t generation; /* bumped when the epoll fd closes: what was
                          * counted in it before is not taken out again */
    uint32_t known;      /* an epoll_ctl on it was seen since */
    uint32_t listeners;  /* listening sockets it watches */
    uint32_t sockets;    /* client connections and request upstreams */
    int64_t fd_sum;      /* the sum of those sockets' fd numbers */
};

/* One watched fd: where it was counted, packed in a word so that its DEL
 * and its close, on two threads, take it out once (an exchange). 0: in
 * no set. */
#define EPOLL_MEMBER_SET_BITS 21 /* epoll fd + 1: fds are below 2^20 */
#define EPOLL_MEMBER_SET_MASK ((1u << EPOLL_MEMBER_SET_BITS) - 1)
#define EPOLL_MEMBER_ROLE_SHIFT EPOLL_MEMBER_SET_BITS
#define EPOLL_MEMBER_GENERATION_SHIFT 32

static struct rp_fd_map epoll_sets = RP_FD_MAP_INIT(struct epoll_set);
static struct rp_fd_map epoll_members = RP_FD_MAP_INIT(uint64_t);

static uint64_t epoll_member_pack(int epoll_fd, enum rp_follow_role role,
                                  uint32_t generation)
{
    return (uint64_t)generation << EPOLL_MEMBER_GENERATION_SHIFT |
           (uint64_t)role << EPOLL_MEMBER_ROLE_SHIFT | (uint64_t)(epoll_fd + 1);
}

static int epoll_member_set(uint64_t word)
{
    return (int)(word & EPOLL_MEMBER_SET_MASK) - 1;
}

/* Adds fd, of role, to set's counts (sign 1) or takes it out (-1). */
static void epoll_set_count(struct epoll_set *set, enum rp_follow_role role, int fd,
                            int sign)
{
    if (role == RP_FOLLOW_ROLE_LISTENER) {
        rp_atomic_add_fetch_relaxed(&set->listeners, (uint32_t)sign);
    } else if (role == RP_FOLLOW_ROLE_REQUEST) {
        rp_atomic_add_fetch_relaxed(&set->sockets, (uint32_t)sign);
        rp_atomic_add_fetch_relaxed(&set->fd_sum, (int64_t)sign * fd);
    }
}

/* Takes fd out of the set its member word names, if that set has not
 * been closed since. */
static void epoll_member_remove(uint64_t *member, int fd)
{
    uint64_t word = rp_atomic_exchange_relaxed(member, 0);
    if (word == 0)
        return;
    struct epoll_set *set = rp_fd_map_entry(&epoll_sets, epoll_member_set(word), false);
    uint32_t generation = (uint32_t)(word >> EPOLL_MEMBER_GENERATION_SHIFT);
    if (set != NULL && rp_atomic_load_relaxed(&set->generation) == generation)
        epoll_set_count(set,
                        (enum rp_follow_role)(word >> EPOLL_MEMBER_ROLE_SHIFT & 3u),
                        fd, -1);
}

void rp_epoll_set_changed(int epoll_fd, int operation, int fd)
{
    int saved_errno = errno;
    struct epoll_set *set = rp_fd_map_entry(&epoll_sets, epoll_fd, true);
    uint64_t *member = rp_fd_map_entry(&epoll_members, fd, operation != EPOLL_CTL_DEL);
    if (set == NULL) {
        errno = saved_errno;
        return;
    }
    if (!rp_atomic_load_relaxed(&set->known))
        rp_atomic_store_relaxed(&set->known, 1);
    uint64_t word = member != NULL ? rp_atomic_load_relaxed(member) : 0;
    bool counted_here = word != 0 && epoll_member_set(word) == epoll_fd;
    enum rp_follow_role role =
        operation == EPOLL_CTL_DEL ? RP_FOLLOW_ROLE_NONE : rp_follow_role(fd);
    /* MOD counts the fd again if it changed role since it was added (a
     * socket a request wrote to since); most MODs change nothing. */
    if (counted_here && operation == EPOLL_CTL_MOD &&
        role == (enum rp_follow_role)(word >> EPOLL_MEMBER_ROLE_SHIFT & 3u)) {
        errno = saved_errno;
        return;
    }
    if (counted_here)
        epoll_member_remove(member, fd);
    if (role != RP_FOLLOW_ROLE_NONE) {
        epoll_set_count(set, role, fd, 1);
        /* Counted in another set too: this one keeps it, as a loop's,
         * until the epoll fd closes (the member word names one set). */
        if (member != NULL && (word == 0 || counted_here))
            rp_atomic_store_relaxed(member, epoll_member_pack(epoll_fd, role,
                                               rp_atomic_load_relaxed(&set->generation)));
    }
    errno = saved_errno;
}

void rp_epoll_set_forget(int fd)
{
    uint64_t *member = rp_fd_map_entry(&epoll_members, fd, false);
    if (member != NULL && rp_atomic_load_relaxed(member) != 0)
        epoll_member_remove(member, fd);
    struct epoll_set *set = rp_fd_map_entry(&epoll_sets, fd, false);
    if (set == NULL || !rp_atomic_load_relaxed(&set->known))
        return;
    rp_atomic_add_fetch_relaxed(&set->generation, 1);
    rp_atomic_store_relaxed(&set->known, 0);
    rp_atomic_store_relaxed(&set->listeners, 0);
    rp_atomic_store_relaxed(&set->sockets, 0);
    rp_atomic_store_relaxed(&set->fd_sum, 0);
}

bool rp_epoll_set_is_requests(int epoll_fd, const struct rp_thread *thread)
{
    struct epoll_set *set = rp_fd_map_entry(&epoll_sets, epoll_fd, false);
    if (set == NULL || !rp_atomic_load_relaxed(&set->known) ||
        rp_atomic_load_relaxed(&set->listeners) != 0)
        return false;
    uint32_t sockets = rp_atomic_load_relaxed(&set->sockets);
    if (sockets == 0)
        return true;
    /* One socket: the sum is its number. Two or more are taken for a
     * loop's, even if all are the request's (its client and upstream). */
    return sockets == 1 &&
           !rp_follow_wakes_loop((int)rp_atomic_load_relaxed(&set->fd_sum),
                                 thread);
}
