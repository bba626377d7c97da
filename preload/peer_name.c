/* Peer addresses, once each per process; see peer_name.h. */
#include "peer_name.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/un.h>

#include "atomic.h"
#include "report.h"

/* Bytes of an address kept: a unix socket's, the longest of the three. */
#define PEER_ADDRESS_MAX ((socklen_t)sizeof(struct sockaddr_un))

struct peer_entry {
    socklen_t length;                       /* bytes of address */
    unsigned char address[PEER_ADDRESS_MAX]; /* as connect or getpeername
                                              * gave it */
};

static struct peer_entry peer_entries[RP_PEER_NAME_MAX];
/* Entries published: written whole before the count covers them
 * (release), read only below it (acquire). */
static unsigned peer_count;
/* Held by the one thread adding an entry; others give up, never wait. */
static bool peer_adding;

/* The bytes that tell one address from another: the port and the host of
 * an IP address (not sin6's flow info), a unix socket's path. */
static socklen_t peer_key_length(const struct sockaddr *address, socklen_t length)
{
    if (length < sizeof(sa_family_t))
        return 0;
    switch (address->sa_family) {
    case AF_INET:
        return length >= sizeof(struct sockaddr_in)
                   ? (socklen_t)offsetof(struct sockaddr_in, sin_zero)
                   : 0;
    case AF_INET6:
        return length >= sizeof(struct sockaddr_in6)
                   ? (socklen_t)offsetof(struct sockaddr_in6, sin6_scope_id)
                   : 0;
    case AF_UNIX:
        return length <= PEER_ADDRESS_MAX ? length : 0;
    default:
        return 0;
    }
}

static uint16_t peer_find(const void *key, socklen_t length, unsigned from, unsigned count)
{
    for (unsigned i = from; i < count; i++)
        if (peer_entries[i].length == length &&
            memcmp(peer_entries[i].address, key, length) == 0)
            return (uint16_t)(i + 1);
    return RP_PEER_UNNAMED;
}

uint16_t rp_peer_name_intern(const struct sockaddr *address, socklen_t length)
{
    socklen_t key_length = address != NULL ? peer_key_length(address, length) : 0;
    if (key_length == 0)
        return RP_PEER_UNNAMED;
    struct sockaddr_in6 key; /* IP keys are copied out of the caller's
                              * address, with sin6's flow info cleared */
    const void *bytes = address;
    if (address->sa_family == AF_INET6) {
        memcpy(&key, address, sizeof key);
        key.sin6_flowinfo = 0;
        bytes = &key;
    }
    unsigned count = rp_atomic_load_acquire(&peer_count);
    uint16_t found = peer_find(bytes, key_length, 0, count);
    if (found != RP_PEER_UNNAMED || count == RP_PEER_NAME_MAX ||
        rp_atomic_exchange_acquire(&peer_adding, true))
        return found;
    /* Another thread may have added it since the count was read. */
    unsigned now = rp_atomic_load_relaxed(&peer_count);
    found = peer_find(bytes, key_length, count, now);
    if (found == RP_PEER_UNNAMED && now < RP_PEER_NAME_MAX) {
        peer_entries[now].length = key_length;
        memcpy(peer_entries[now].address, bytes, key_length);
        rp_atomic_store_release(&peer_count, now + 1);
        found = (uint16_t)(now + 1);
    }
    rp_atomic_store_release(&peer_adding, false);
    return found;
}

void rp_peer_name_format(uint16_t peer, char *out, size_t size)
{
    unsigned count = rp_atomic_load_acquire(&peer_count);
    if (peer == RP_PEER_UNKNOWN || peer > count) {
        snprintf(out, size, RP_REPORT_WAIT_OTHER_PEER);
        return;
    }
    const struct peer_entry *entry = &peer_entries[peer - 1];
    const struct sockaddr *address = (const struct sockaddr *)(const void *)entry->address;
    char host[INET6_ADDRSTRLEN];
    if (address->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const void *)entry->address;
        inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
        snprintf(out, size, "%s:%u", host, ntohs(in->sin_port));
    } else if (address->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const void *)entry->address;
        inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
        snprintf(out, size, "[%s]:%u", host, ntohs(in6->sin6_port));
    } else {
        const struct sockaddr_un *un = (const void *)entry->address;
        size_t path_length = entry->length - offsetof(struct sockaddr_un, sun_path);
        if (path_length == 0)
            snprintf(out, size, "unix");
        else if (un->sun_path[0] == '\0') /* abstract: no file, a name */
            snprintf(out, size, "@%.*s", (int)(path_length - 1), un->sun_path + 1);
        else
            snprintf(out, size, "%.*s", (int)strnlen(un->sun_path, path_length),
                     un->sun_path);
    }
}

/* Writes only if it must: a page written is a copy in every child. */
void rp_peer_name_after_fork(void)
{
    if (peer_adding)
        peer_adding = false;
}
