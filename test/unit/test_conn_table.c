/*
 * Tests of preload/conn_table.c around fork: the child keeps the idle
 * connections it inherits and drops those locked or in the middle of a
 * message, and deciding so writes to none it keeps (each page written is
 * a copy, in every child of a server with many idle connections).
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "conn_table.h"
#include "unit.h"

/* Many idle connections, as a server keeps alive: about two a page. */
enum { FIRST_FD = 1000, IDLE_CONNECTIONS = 4000 };

static long minor_faults(void)
{
    struct rusage usage;
    getrusage(RUSAGE_SELF, &usage);
    return usage.ru_minflt;
}

/* Pages the child's handler wrote to (copied), in the child. */
static long child_pages_copied;

/* Forks; the child runs the child's handler and exits with what check
 * returns (the parent's handlers run around it). Returns the exit status. */
static int in_fork_child(int (*check)(void))
{
    rp_conn_table_before_fork();
    pid_t child = fork();
    if (child == 0) {
        long before = minor_faults();
        rp_conn_table_after_fork(true);
        child_pages_copied = minor_faults() - before;
        _exit(check());
    }
    rp_conn_table_after_fork(false);
    int status;
    if (child < 0 || waitpid(child, &status, 0) != child || !WIFEXITED(status))
        return -1;
    return WEXITSTATUS(status);
}

static int few_pages_copied(void)
{
    if (child_pages_copied > IDLE_CONNECTIONS / 40)
        fprintf(stderr, "  the child's handler copied %ld pages\n", child_pages_copied);
    return child_pages_copied > IDLE_CONNECTIONS / 40;
}

UNIT_TEST(a_child_keeps_idle_connections_without_copying_them)
{
    struct rp_conn *stale;
    for (int fd = FIRST_FD; fd < FIRST_FD + IDLE_CONNECTIONS; fd++)
        EXPECT_TRUE(rp_conn_table_add(fd, &stale) != NULL);
    EXPECT_INT_EQ(0, in_fork_child(few_pages_copied));
}

static int kept_and_dropped(void)
{
    return (rp_conn_table_get(FIRST_FD) != NULL) << 0 |
           (rp_conn_table_get(FIRST_FD + 1) == NULL) << 1 |
           (rp_conn_table_get(FIRST_FD + 2) == NULL) << 2;
}

UNIT_TEST(a_child_drops_connections_locked_or_mid_message)
{
    struct rp_conn *stale;
    rp_conn_table_add(FIRST_FD, &stale);
    struct rp_conn *locked = rp_conn_table_add(FIRST_FD + 1, &stale);
    struct rp_conn *mid_message = rp_conn_table_add(FIRST_FD + 2, &stale);
    mid_message->request_parser.state = RP_HTTP_STATE_IDLE + 1;
    pthread_mutex_lock(&locked->lock);
    EXPECT_INT_EQ(7, in_fork_child(kept_and_dropped));
    pthread_mutex_unlock(&locked->lock);
}

int main(void)
{
    UNIT_RUN(a_child_keeps_idle_connections_without_copying_them);
    UNIT_RUN(a_child_drops_connections_locked_or_mid_message);
    return unit_finish();
}
