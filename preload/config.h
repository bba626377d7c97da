/*
 * reqprof's settings: REQPROF_* environment variables, optionally read
 * first from the file named by REQPROF_CONFIG (the environment wins where
 * both set a key). Each key is declared once, in config.c's table
 * (rp_config_keys): its name, default, parser, what it accepts and what it
 * does. The library and the tool both load settings through
 * rp_config_load; profiler.conf.example and the README's table list the
 * same keys with the same defaults (test/unit/test_config.c checks).
 */
#ifndef REQPROF_CONFIG_H
#define REQPROF_CONFIG_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Sampling intervals reqprof accepts: finer costs too much, coarser says
 * too little about one request. */
#define RP_INTERVAL_MIN_NS 100000ull
#define RP_INTERVAL_MAX_NS 1000000000ull
/* The largest REQPROF_MAX_REPORTS: beyond it, set 0 (no limit). */
#define RP_MAX_REPORTS_MAX 1000000
/* The smallest REQPROF_MAX_DISK but 0: below 1 MiB a few HTML pages would
 * not fit. */
#define RP_MAX_DISK_MIN (1ull << 20)

struct rp_config {
    char dir[PATH_MAX];   /* absolute directory for reports (REQPROF_DIR) */
    /* Formats to write, a bit (1u << format) per enum rp_format
     * (REQPROF_OUTPUT). */
    unsigned outputs;
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

/* One setting, as config.c's table declares it. */
struct rp_config_key {
    const char *name;          /* "REQPROF_INTERVAL" */
    const char *default_value; /* as written in a file: "1ms"; NULL: none */
    /* Sets the field from value; false if value is not one it accepts.
     * NULL: the key is read from the environment only (REQPROF_CONFIG). */
    bool (*parse)(void *field, const char *value);
    size_t field;              /* the field's offset in struct rp_config */
    /* What parse accepts, for error messages; NULL: describe says it. */
    const char *accepts;
    void (*describe)(char *out, size_t size);
    const char *doc;           /* what the setting does, in one line */
};

/* Every setting, rp_config_key_count of them. */
extern const struct rp_config_key rp_config_keys[];
extern const size_t rp_config_key_count;

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

/*
 * Whether the environment has REQPROF_* variables that are no setting
 * (misspelt ones, most likely): if so, writes into warning (size bytes)
 * the one line to say, naming them and the known keys, the words the
 * config file's error uses for an unknown key. They are ignored.
 */
bool rp_config_unknown_in_environment(char *warning, size_t size);

#endif
