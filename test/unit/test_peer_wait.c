/*
 * Unit tests of waits named and summed (preload/peer_name.c,
 * preload/peer_waits.c, renderers/waits.c): peers interned once and named
 * as people write addresses, files by their paths, a request's waits summed by peer and kind
 * with the rest in one row, "waits" in JSON (read back, and optional)
 * and in the text header, and a merge's waits added up.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "peer_name.h"
#include "peer_wait.h"
#include "report.h"
#include "report_fixture.h"
#include "unit.h"

static uint16_t intern_ipv4(const char *host, uint16_t port)
{
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons(port)};

    inet_pton(AF_INET, host, &address.sin_addr);
    return rp_peer_name_intern((struct sockaddr *)&address, sizeof address);
}

static void expect_name(const char *expected, uint16_t peer)
{
    char name[RP_REPORT_PEER_MAX];

    rp_peer_name_format(peer, false, name, sizeof name);
    EXPECT_STR_EQ(expected, name);
}

UNIT_TEST(peers_are_kept_once_and_named_as_written)
{
    struct sockaddr_in6 six = {.sin6_family = AF_INET6, .sin6_port = htons(8080)};
    struct sockaddr_un path = {.sun_family = AF_UNIX, .sun_path = "/run/pg.sock"};
    struct sockaddr_un abstract = {.sun_family = AF_UNIX};
    struct sockaddr_storage other = {.ss_family = AF_PACKET};
    uint16_t first = intern_ipv4("127.0.0.1", 5432), again, six_peer;

    EXPECT_TRUE(first != RP_PEER_UNNAMED && first != RP_PEER_UNKNOWN);
    again = intern_ipv4("127.0.0.1", 5432);
    EXPECT_INT_EQ(first, again);
    EXPECT_TRUE(intern_ipv4("127.0.0.1", 5433) != first);
    expect_name("127.0.0.1:5432", first);

    inet_pton(AF_INET6, "::1", &six.sin6_addr);
    six_peer = rp_peer_name_intern((struct sockaddr *)&six, sizeof six);
    expect_name("[::1]:8080", six_peer);
    /* The flow label does not make another peer. */
    six.sin6_flowinfo = htonl(7);
    EXPECT_INT_EQ(six_peer, rp_peer_name_intern((struct sockaddr *)&six, sizeof six));

    expect_name("/run/pg.sock",
                rp_peer_name_intern((struct sockaddr *)&path,
                                    offsetof(struct sockaddr_un, sun_path) +
                                        sizeof "/run/pg.sock"));
    memcpy(abstract.sun_path, "\0bus", 4);
    expect_name("@bus", rp_peer_name_intern((struct sockaddr *)&abstract,
                                            offsetof(struct sockaddr_un, sun_path) + 4));

    EXPECT_INT_EQ(RP_PEER_UNNAMED,
                  rp_peer_name_intern((struct sockaddr *)&other, sizeof other));
    expect_name("other", RP_PEER_UNNAMED);
}

UNIT_TEST(a_full_table_leaves_new_peers_unnamed)
{
    uint16_t first = intern_ipv4("10.0.0.1", 1);

    for (unsigned port = 2; port <= RP_PEER_NAME_MAX; port++)
        EXPECT_TRUE(intern_ipv4("10.0.0.1", (uint16_t)port) != RP_PEER_UNNAMED);
    EXPECT_INT_EQ(RP_PEER_UNNAMED, intern_ipv4("10.0.0.2", 1));
    /* Those it holds keep their numbers. */
    EXPECT_INT_EQ(first, intern_ipv4("10.0.0.1", 1));
}

/* A fresh directory for files to name, its real path in dir (PATH_MAX). */
static void make_directory(char *dir)
{
    char template[] = "/tmp/reqprof-files-XXXXXX";

    EXPECT_TRUE(mkdtemp(template) != NULL);
    EXPECT_TRUE(realpath(template, dir) != NULL);
}

static int remove_entry(const char *path, const struct stat *status, int type,
                        struct FTW *walk)
{
    return remove(path);
}

/* Removes dir and all in it. */
static void remove_directory(const char *dir)
{
    EXPECT_INT_EQ(0, nftw(dir, remove_entry, 8, FTW_DEPTH | FTW_PHYS));
}

/* Creates dir/name and opens it for reading. */
static int open_file(const char *dir, const char *name)
{
    char path[3 * PATH_MAX];

    snprintf(path, sizeof path, "%s/%s", dir, name);
    close(open(path, O_WRONLY | O_CREAT, 0600));
    return open(path, O_RDONLY);
}

static void expect_file_name(const char *expected, bool redact_query, uint16_t file)
{
    char name[RP_REPORT_PEER_MAX];

    rp_peer_name_format(file, redact_query, name, sizeof name);
    EXPECT_STR_EQ(expected, name);
}

UNIT_TEST(files_are_named_by_their_path_once)
{
    char dir[PATH_MAX], expected[PATH_MAX + 32];
    int fd, again, status = open("/proc/self/status", O_RDONLY);
    uint16_t file;

    make_directory(dir);
    fd = open_file(dir, "cache?key=SECRET");
    file = rp_peer_name_file(fd);
    EXPECT_TRUE(file >= RP_PEER_FILE_FIRST && file != RP_PEER_UNNAMED);
    snprintf(expected, sizeof expected, "%s/cache?key=SECRET", dir);
    expect_file_name(expected, false, file);
    /* Another fd of the same file is the same file. */
    again = open(expected, O_RDONLY);
    EXPECT_INT_EQ(file, rp_peer_name_file(again));
    /* REQPROF_REDACT=query keeps a URL's values out of a file's name too. */
    snprintf(expected, sizeof expected, "%s/cache?key=", dir);
    expect_file_name(expected, true, file);
    /* A file of /proc is no disk's. */
    EXPECT_INT_EQ(RP_PEER_UNKNOWN, rp_peer_name_file(status));
    close(fd);
    close(again);
    close(status);
    remove_directory(dir);
}

UNIT_TEST(files_past_the_table_or_too_long_are_other_and_sockets_still_named)
{
    char dir[PATH_MAX], name[PATH_MAX + 256], first_name[PATH_MAX + 8];
    char long_name[201];
    uint16_t first = RP_PEER_UNKNOWN;

    make_directory(dir);
    for (unsigned i = 0; i < RP_PEER_FILE_MAX; i++) {
        snprintf(name, sizeof name, "f%u", i);
        int fd = open_file(dir, name);
        uint16_t file = rp_peer_name_file(fd);
        EXPECT_TRUE(file >= RP_PEER_FILE_FIRST && file != RP_PEER_UNNAMED);
        if (i == 0)
            first = file;
        close(fd);
    }
    int fd = open_file(dir, "one-more");
    EXPECT_INT_EQ(RP_PEER_UNNAMED, rp_peer_name_file(fd));
    expect_file_name("other", false, RP_PEER_UNNAMED);
    close(fd);
    snprintf(first_name, sizeof first_name, "%s/f0", dir);
    expect_file_name(first_name, false, first);

    /* A path longer than kept (255 bytes) is other, not cut short. */
    memset(long_name, 'x', sizeof long_name - 1);
    long_name[sizeof long_name - 1] = '\0';
    snprintf(name, sizeof name, "%s/%s", dir, long_name);
    EXPECT_INT_EQ(0, mkdir(name, 0700));
    snprintf(name, sizeof name, "%s/%s", long_name, long_name);
    fd = open_file(dir, name);
    EXPECT_TRUE(fd >= 0);
    EXPECT_INT_EQ(RP_PEER_UNNAMED, rp_peer_name_file(fd));
    close(fd);
    remove_directory(dir);

    /* Files have a table of their own: upstreams are still named. */
    EXPECT_TRUE(intern_ipv4("127.0.0.1", 6379) < RP_PEER_FILE_FIRST);
}

/* A WAIT record as the server thread writes it (peer_wait.c). */
struct wait_record {
    struct rp_record header;
    void *room[RP_PEER_WAIT_PAYLOAD_FRAMES];
};

static void add_wait(struct rp_peer_waits *waits, uint16_t peer,
                     enum rp_peer_wait_kind kind, uint64_t ns, uint64_t bytes)
{
    struct wait_record record = {.header = {.kind = RP_RECORD_WAIT, .value = ns,
                                            .frame_count = RP_PEER_WAIT_PAYLOAD_FRAMES}};
    struct rp_peer_wait_payload payload = {.peer = peer, .kind = kind, .calls = 1,
                                           .bytes = bytes};

    memcpy(record.header.frames, &payload, sizeof payload);
    EXPECT_TRUE(rp_peer_wait_is_record(&record.header));
    rp_peer_waits_add(waits, &record.header);
}

UNIT_TEST(waits_are_summed_by_peer_and_kind_and_the_rest_is_other)
{
    struct rp_peer_waits waits = {0};
    struct rp_report report;
    uint16_t database = intern_ipv4("127.0.0.1", 5432);

    add_wait(&waits, database, RP_PEER_WAIT_READ, 30000000, 400);
    add_wait(&waits, database, RP_PEER_WAIT_WRITE, 0, 20);
    add_wait(&waits, database, RP_PEER_WAIT_READ, 51000000, 800);
    add_wait(&waits, database, RP_PEER_WAIT_READ, 0, 0);
    /* Six of eight more peers fill the rows; the last two and an unnamed
     * socket go to the other peers' row, whose kinds differ. */
    for (uint16_t port = 1; port <= 8; port++)
        add_wait(&waits, intern_ipv4("127.0.0.2", port), RP_PEER_WAIT_CONNECT, 1000000, 0);
    add_wait(&waits, RP_PEER_UNNAMED, RP_PEER_WAIT_READ, 2000000, 10);

    memset(&report, 0, sizeof report);
    rp_peer_waits_to_report(&waits, false, &report);
    EXPECT_INT_EQ(RP_REPORT_WAITS_MAX, report.wait_count);
    EXPECT_STR_EQ("127.0.0.1:5432", report.waits[0].peer);
    EXPECT_STR_EQ("read", report.waits[0].kind);
    EXPECT_INT_EQ(3, report.waits[0].calls);
    EXPECT_TRUE(report.waits[0].ms == 81.0);
    EXPECT_INT_EQ(1200, report.waits[0].bytes);
    EXPECT_STR_EQ("write", report.waits[1].kind);
    EXPECT_INT_EQ(20, report.waits[1].bytes);
    EXPECT_STR_EQ("127.0.0.2:1", report.waits[2].peer);
    EXPECT_STR_EQ("connect", report.waits[2].kind);
    EXPECT_STR_EQ("127.0.0.2:6", report.waits[7].peer);
    EXPECT_STR_EQ("other", report.waits[8].peer);
    EXPECT_STR_EQ("call", report.waits[8].kind);
    EXPECT_INT_EQ(3, report.waits[8].calls);
    EXPECT_TRUE(report.waits[8].ms == 4.0);
    EXPECT_INT_EQ(81000000 + 8 * 1000000 + 2000000, rp_peer_waits_total_ns(&waits));
}

/* A request that waited 81 ms on its database and connected to it. */
static void report_make_waited(struct rp_report *report)
{
    struct rp_calltree *tree = fixture_report(report, "/orders", 1234, "/usr/sbin/app");
    uint32_t stack[1] = {fixture_frame(tree, "query_orders", "app", NULL, 0)};

    report->duration_ms = 90;
    report->samples = 90;
    rp_calltree_add_stack(tree, stack, 1, 90);
    report->wait_count = 2;
    report->waits[0] = (struct rp_report_wait){"127.0.0.1:5432", "connect", 1, 0.31, 0};
    report->waits[1] = (struct rp_report_wait){"127.0.0.1:5432", "read", 3, 81.0, 1200};
}

UNIT_TEST(waits_are_in_json_and_read_back)
{
    struct rp_report written, read;
    struct rp_buffer json, again;
    char error[256];

    report_make_waited(&written);
    json = fixture_render(&written, RP_FORMAT_JSON, false);
    EXPECT_HAS(json.data, "\"waits\": [{\"peer\": \"127.0.0.1:5432\", \"kind\": "
                          "\"connect\", \"calls\": 1, \"ms\": 0.310, \"bytes\": 0},\n"
                          "  {\"peer\": \"127.0.0.1:5432\", \"kind\": \"read\", "
                          "\"calls\": 3, \"ms\": 81.000, \"bytes\": 1200}]");
    EXPECT_INT_EQ(0, rp_report_from_json(json.data, json.length, &read, error, sizeof error));
    EXPECT_STR_EQ("", error);
    EXPECT_INT_EQ(2, read.wait_count);
    EXPECT_STR_EQ("read", read.waits[1].kind);
    EXPECT_INT_EQ(3, read.waits[1].calls);
    again = fixture_render(&read, RP_FORMAT_JSON, false);
    EXPECT_STR_EQ(json.data, again.data);
    rp_report_release(&read);
    rp_buffer_free(&again);
    rp_buffer_free(&json);

    /* No waits, no member: a reader of reports without it reads it. */
    written.wait_count = 0;
    json = fixture_render(&written, RP_FORMAT_JSON, false);
    EXPECT_TRUE(strstr(json.data, "\"waits\"") == NULL);
    EXPECT_INT_EQ(0, rp_report_from_json(json.data, json.length, &read, error, sizeof error));
    EXPECT_INT_EQ(0, read.wait_count);
    rp_report_release(&read);
    rp_buffer_free(&json);
    rp_report_release(&written);
}

UNIT_TEST(a_wait_of_no_call_is_refused)
{
    struct rp_report written, read;
    struct rp_buffer json;
    char error[256];
    char *zero;

    report_make_waited(&written);
    json = fixture_render(&written, RP_FORMAT_JSON, false);
    zero = strstr(json.data, "\"calls\": 3");
    EXPECT_TRUE(zero != NULL);
    if (zero != NULL)
        zero[sizeof "\"calls\": " - 1] = '0';
    EXPECT_INT_EQ(-1, rp_report_from_json(json.data, json.length, &read, error, sizeof error));
    EXPECT_HAS(error, "a wait of 0 calls");
    rp_buffer_free(&json);
    rp_report_release(&written);
}

UNIT_TEST(the_text_header_says_each_wait)
{
    struct rp_report report;
    struct rp_buffer text;

    report_make_waited(&report);
    report.waits[1].bytes = 12;
    text = fixture_render(&report, RP_FORMAT_TEXT, false);
    EXPECT_HAS(text.data, "\nWaited:  0.3 ms on 127.0.0.1:5432 (1 connect)\n"
                          "         81.0 ms on 127.0.0.1:5432 (3 reads, 12 bytes)\n");
    rp_buffer_free(&text);
    report.waits[1].bytes = 1200;
    report.waits[1].calls = 1;
    text = fixture_render(&report, RP_FORMAT_TEXT, false);
    EXPECT_HAS(text.data, "81.0 ms on 127.0.0.1:5432 (1 read, 1.2 kB)\n");
    rp_buffer_free(&text);
    rp_report_release(&report);
}

UNIT_TEST(a_merge_adds_up_waits_by_peer_and_kind)
{
    struct rp_report merged = {0}, other = {0};
    char peer[32];

    merged.wait_count = 2;
    merged.waits[0] = (struct rp_report_wait){"127.0.0.1:5432", "connect", 1, 0.5, 0};
    merged.waits[1] = (struct rp_report_wait){"127.0.0.1:5432", "read", 3, 81.0, 1200};
    /* The same peer and kind adds up; a new kind is a row of its own,
     * and so are new peers until one row is left: the others'. */
    other.waits[other.wait_count++] = (struct rp_report_wait){"127.0.0.1:5432", "read", 1, 9.0, 300};
    other.waits[other.wait_count++] = (struct rp_report_wait){"127.0.0.1:5432", "write", 1, 0, 20};
    for (int port = 1; port <= 7; port++) {
        snprintf(peer, sizeof peer, "10.0.0.1:%d", port);
        other.waits[other.wait_count] = (struct rp_report_wait){"", "read", 1, 1.0, 10};
        memcpy(other.waits[other.wait_count++].peer, peer, sizeof peer);
    }
    rp_report_waits_add(&merged, &other);
    EXPECT_INT_EQ(RP_REPORT_WAITS_MAX, merged.wait_count);
    EXPECT_INT_EQ(4, merged.waits[1].calls);
    EXPECT_TRUE(merged.waits[1].ms == 90.0);
    EXPECT_INT_EQ(1500, merged.waits[1].bytes);
    EXPECT_STR_EQ("write", merged.waits[2].kind);
    EXPECT_STR_EQ("10.0.0.1:5", merged.waits[7].peer);
    EXPECT_STR_EQ(RP_REPORT_WAIT_OTHER_PEER, merged.waits[8].peer);
    EXPECT_INT_EQ(2, merged.waits[8].calls);
    /* More of other kinds go to the others' row, which then holds calls. */
    other.wait_count = 1;
    other.waits[0] = (struct rp_report_wait){"10.0.0.2:1", "connect", 1, 2.0, 0};
    rp_report_waits_add(&merged, &other);
    EXPECT_INT_EQ(RP_REPORT_WAITS_MAX, merged.wait_count);
    EXPECT_INT_EQ(3, merged.waits[8].calls);
    EXPECT_TRUE(merged.waits[8].ms == 4.0);
    EXPECT_STR_EQ(RP_REPORT_WAIT_MIXED_KIND, merged.waits[8].kind);
}

int main(void)
{
    UNIT_RUN(peers_are_kept_once_and_named_as_written);
    UNIT_RUN(a_full_table_leaves_new_peers_unnamed);
    UNIT_RUN(files_are_named_by_their_path_once);
    UNIT_RUN(files_past_the_table_or_too_long_are_other_and_sockets_still_named);
    UNIT_RUN(waits_are_summed_by_peer_and_kind_and_the_rest_is_other);
    UNIT_RUN(waits_are_in_json_and_read_back);
    UNIT_RUN(a_wait_of_no_call_is_refused);
    UNIT_RUN(the_text_header_says_each_wait);
    UNIT_RUN(a_merge_adds_up_waits_by_peer_and_kind);
    return unit_finish();
}
