/*
 * Request targets as reports show them. URLs carry secrets in their query
 * (?token=..., ?password_reset=...), and a target is written in three
 * places: index.tsv, report file names and every report. With
 * REQPROF_REDACT=query, all three get it without its query values.
 */
#ifndef REQPROF_PATH_REDACT_H
#define REQPROF_PATH_REDACT_H

#include <stddef.h>

/*
 * Writes into out the length bytes of path with each query value left
 * out: "/login?token=SECRET&next=/a" becomes "/login?token=&next=". A
 * parameter without '=' may be a value on its own ("/reset?SECRET"), so
 * it is left out whole. out has room for length + 1 bytes (the result is
 * never longer); it is NUL-terminated. Returns the result's length.
 */
size_t rp_path_redact_query(const char *path, size_t length, char *out);

#endif
