/*
 * reqprof's settings: REQPROF_* environment variables, optionally read
 * first from the file named by REQPROF_CONFIG (the environment wins where
 * both set a key). profiler.conf.example documents every key.
 */
#ifndef REQPROF_CONFIG_H
#define REQPROF_CONFIG_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Report formats, a bit each, as REQPROF_OUTPUT lists them. */
enum rp_output_format {
    RP_OUTPUT_TEXT = 1u << 0,
    RP_OUTPUT_JSON = 1u << 1,
    RP_OUTPUT_HTML = 1u << 2,
};

/* Sampling intervals reqprof accepts: finer costs too much, coarser says
 * too little about one request. */
#define RP_INTERVAL_MIN_NS 100000ull
#define RP_INTERVAL_MAX_NS 1000000000ull
/* The largest REQPROF_MAX_REPORTS: beyond it, set 0 (no limit). */
#define RP_MAX_REPORTS_MAX 1000000
/* REQPROF_MAX_DISK: 1 GiB unless set; below 1 MiB a few HTML pages would
 * not fit. */
#define RP_MAX_DISK_DEFAULT (1ull << 30)
#define RP_MAX_DISK_MIN (1ull << 20)

struct rp_config {
    char dir[PATH_MAX];   /* absolute directory for reports (REQPROF_DIR) */
    unsigned outputs;     /* enum rp_output_format bits (REQPROF_OUTPUT) */
    uint64_t interval_ns; /* sampling interval (REQPROF_INTERVAL) */
    /* Requests shorter than this get an index line but no report files
     * (REQPROF_MIN_DURATION); 0: every request gets its reports. */
    uint64_t min_duration_ns;
    /* Report files a second at most, for the slowest requests of each
     * second (REQPROF_MAX_REPORTS); 0: no limit. */
    unsigned max_reports;
    /* Bytes the report directory may hold, index.tsv and every process's
     * reports included (REQPROF_MAX_DISK); 0: no limit. */
    uint64_t max_disk;
    bool print;           /* also print each text report (REQPROF_PRINT) */
    bool show_all;        /* text: no folding, no threshold (REQPROF_SHOW_ALL) */
    bool unicode;         /* text: box-drawing characters (REQPROF_UNICODE) */
    int signal;           /* the sampling signal (REQPROF_SIGNAL) */
    /* Paths written without query values (REQPROF_REDACT=query). */
    bool redact_query;
    /* No line on stderr when profiling starts (REQPROF_QUIET). */
    bool quiet;
};

/* Fills config with the defaults. */
void rp_config_defaults(struct rp_config *config);

/*
 * Sets one key ("REQPROF_INTERVAL") from its text. Returns 0, or -1 with
 * a message in error naming the key, the value and what is accepted.
 */
int rp_config_set(struct rp_config *config, const char *key,
                  const char *value, char *error, size_t error_size);

/*
 * Loads defaults, then REQPROF_CONFIG's file, then the environment.
 * Returns 0, or -1 with the reason in error.
 */
int rp_config_load(struct rp_config *config, char *error, size_t error_size);

#endif
