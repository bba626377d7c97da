/*
 * reqprof's version, as the VERSION file at the top of the tree says it:
 * the Makefile writes it into build/gen/version.c, which both the library
 * and the tool link, so the two never disagree on it. The library writes
 * it into every report and its start line; the tool prints it for
 * --version.
 */
#ifndef REQPROF_VERSION_H
#define REQPROF_VERSION_H

/* Such as "0.1.0". */
extern const char rp_version[];

#endif
