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

#endif
