/*
 * The one line reqprof says on stderr when a process starts serving
 * under it: its version, the process, the sampling interval and where
 * the reports go, so that whoever started the server sees that reqprof
 * is there and where to look. REQPROF_QUIET=1 leaves it out.
 */
#ifndef REQPROF_START_LINE_H
#define REQPROF_START_LINE_H

/*
 * Says the line, the first time it is called in this process and in the
 * process it was forked from: a server's first listen or accept. Called
 * once per process tree at that moment, and not at load, it stays out of
 * the shells, CGI programs and helpers that load the library too (they
 * never listen), and the workers of a server that forks them after it
 * listened do not repeat it. Keeps errno. Not for signal handlers.
 */
void rp_start_line_say(void);

/*
 * Keeps message (a misspelt REQPROF_* variable, found at load) to say
 * just before the start line, QUIET or not. Said at load, it would come
 * from every program the server runs (its CGIs, the shells of its
 * popen), into their output: an inetd child's stderr is its client.
 */
void rp_start_line_hold(const char *message);

#endif
