/* Peer addresses, once each per process; see peer_name.h. */
#include "peer_name.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/un.h>
#include <unistd.h>

#include "atomic.h"
#include "path_redact.h"
#include "report.h"

/* Bytes of an address kept: a unix socket's, the longest of the three. */
#define PEER_ADDRESS_MAX ((socklen_t)sizeof(struct sockaddr_un))
/* Bytes of a file's path kept; a longer one is named other. */
#define PEER_PATH_MAX 256

/*
 * An append-only table of names, each kept as bytes: entries are written
 * whole before the count covers them (release), read only below it
 * (acquire); the one thread adding holds adding, others give up, never
 * wait.
 */
struct peer_table {
    unsigned capacity;     /* entries */
    socklen_t entry_max;   /* bytes per entry */
    unsigned char *bytes;  /* capacity * entry_max bytes */
    socklen_t *lengths;    /* bytes used per entry */
    uint16_t first;        /* the number of entry 0 */
    unsigned count;
    bool adding;
};

static unsigned char address_bytes[RP_PEER_NAME_MAX][PEER_ADDRESS_MAX];
static socklen_t address_lengths[RP_PEER_NAME_MAX];
static struct peer_table addresses = {
    .capacity = RP_PEER_NAME_MAX, .entry_max = PEER_ADDRESS_MAX,
    .bytes = &address_bytes[0][0], .lengths = address_lengths, .first = 1,
};

static unsigned char path_bytes[RP_PEER_FILE_MAX][PEER_PATH_MAX];
static socklen_t path_lengths[RP_PEER_FILE_MAX];
static struct peer_table paths = {
    .capacity = RP_PEER_FILE_MAX, .entry_max = PEER_PATH_MAX,
    .bytes = &path_bytes[0][0], .lengths = path_lengths, .first = RP_PEER_FILE_FIRST,
};

static unsigned char *peer_table_entry(const struct peer_table *table, unsigned i)
{
    return table->bytes + (size_t)i * table->entry_max;
}

static uint16_t peer_find(const struct peer_table *table, const void *key, socklen_t length,
                          unsigned from, unsigned count)
{
    for (unsigned i = from; i < count; i++)
        if (table->lengths[i] == length &&
            memcmp(peer_table_entry(table, i), key, length) == 0)
            return (uint16_t)(table->first + i);
    return RP_PEER_UNNAMED;
}

/* The number of key (length bytes, at most the table's entry_max), added
 * if new; RP_PEER_UNNAMED when the table is full or another thread adds. */
static uint16_t peer_table_intern(struct peer_table *table, const void *key, socklen_t length)
{
    unsigned count = rp_atomic_load_acquire(&table->count);
    uint16_t found = peer_find(table, key, length, 0, count);
    if (found != RP_PEER_UNNAMED || count == table->capacity ||
        rp_atomic_exchange_acquire(&table->adding, true))
        return found;
    /* Another thread may have added it since the count was read. */
    unsigned now = rp_atomic_load_relaxed(&table->count);
    found = peer_find(table, key, length, count, now);
    if (found == RP_PEER_UNNAMED && now < table->capacity) {
        table->lengths[now] = length;
        memcpy(peer_table_entry(table, now), key, length);
        rp_atomic_store_release(&table->count, now + 1);
        found = (uint16_t)(table->first + now);
    }
    rp_atomic_store_release(&table->adding, false);
    return found;
}

/* The entry numbered peer in table, with its length; NULL if none. */
static const unsigned char *peer_table_get(const struct peer_table *table, uint16_t peer,
                                           socklen_t *length)
{
    unsigned count = rp_atomic_load_acquire(&table->count);
    if (peer < table->first || (unsigned)(peer - table->first) >= count)
        return NULL;
    *length = table->lengths[peer - table->first];
    return peer_table_entry(table, peer - table->first);
}

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
    return peer_table_intern(&addresses, bytes, key_length);
}

/* A path of no disk: the kernel's views of processes and devices. */
static bool peer_path_is_pseudo(const char *path, size_t length)
{
    static const char *const pseudo[] = {"/proc/", "/sys/", "/dev/"};
    for (size_t i = 0; i < sizeof pseudo / sizeof pseudo[0]; i++) {
        size_t prefix = strlen(pseudo[i]);
        if (length >= prefix && memcmp(path, pseudo[i], prefix) == 0)
            return true;
    }
    return false;
}

/* The link to an fd's file, and room for one. */
#define PEER_FD_LINK "/proc/self/fd/"
#define PEER_FD_LINK_MAX (sizeof PEER_FD_LINK + 10)

/* Writes PEER_FD_LINK and fd's number into out (PEER_FD_LINK_MAX bytes),
 * without snprintf, which is not async-signal-safe. */
static void peer_fd_link(int fd, char *out)
{
    static const char prefix[] = PEER_FD_LINK;
    char digits[10]; /* an int's */
    size_t count = 0;
    unsigned value = (unsigned)fd;
    do
        digits[count++] = (char)('0' + value % 10);
    while ((value /= 10) != 0);
    memcpy(out, prefix, sizeof prefix - 1);
    for (size_t i = 0; i < count; i++)
        out[sizeof prefix - 1 + i] = digits[count - 1 - i];
    out[sizeof prefix - 1 + count] = '\0';
}

uint16_t rp_peer_name_file(int fd)
{
    char link[PEER_FD_LINK_MAX];
    char path[PEER_PATH_MAX];
    peer_fd_link(fd, link);
    ssize_t length = readlink(link, path, sizeof path);
    if (length <= 0 || (size_t)length >= sizeof path)
        return RP_PEER_UNNAMED; /* no /proc, or a path too long to keep */
    if (peer_path_is_pseudo(path, (size_t)length))
        return RP_PEER_UNKNOWN;
    return peer_table_intern(&paths, path, (socklen_t)length);
}

/* Writes the path of a file into out, without query values if
 * redact_query (a cache file may be named after a URL). */
static void peer_path_format(const unsigned char *path, socklen_t length, bool redact_query,
                             char *out, size_t size)
{
    char redacted[PEER_PATH_MAX + 1];
    const char *shown = (const char *)path;
    size_t shown_length = length;
    if (redact_query) {
        shown_length = rp_path_redact_query(shown, length, redacted);
        shown = redacted;
    }
    snprintf(out, size, "%.*s", (int)shown_length, shown);
}

void rp_peer_name_format(uint16_t peer, bool redact_query, char *out, size_t size)
{
    socklen_t length;
    const unsigned char *path = peer_table_get(&paths, peer, &length);
    if (path != NULL) {
        peer_path_format(path, length, redact_query, out, size);
        return;
    }
    const unsigned char *bytes = peer_table_get(&addresses, peer, &length);
    if (bytes == NULL) {
        snprintf(out, size, RP_REPORT_WAIT_OTHER_PEER);
        return;
    }
    const struct sockaddr *address = (const struct sockaddr *)(const void *)bytes;
    char host[INET6_ADDRSTRLEN];
    if (address->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const void *)bytes;
        inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
        snprintf(out, size, "%s:%u", host, ntohs(in->sin_port));
    } else if (address->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const void *)bytes;
        inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
        snprintf(out, size, "[%s]:%u", host, ntohs(in6->sin6_port));
    } else {
        const struct sockaddr_un *un = (const void *)bytes;
        size_t path_length = length - offsetof(struct sockaddr_un, sun_path);
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
    if (addresses.adding)
        addresses.adding = false;
    if (paths.adding)
        paths.adding = false;
}
