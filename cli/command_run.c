/*
 * reqprof run: a command under libreqprof.so, as "perf record -- COMMAND"
 * runs one under perf, so that nobody has to spell LD_PRELOAD.
 *
 * It sets the environment and then becomes the command (execvp) instead
 * of running it as a child: the server keeps the process id a script or
 * a service manager was given, gets the signals sent to it with nothing
 * in between to forward them, and its exit status, or its death by a
 * signal (which a shell shows as 128+N), is the caller's to see as if
 * reqprof were not there.
 */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "config.h"

static const char run_usage[] =
    "usage: reqprof run [-o DIR] [--output FORMATS] [--] COMMAND [ARGUMENTS]\n"
    "\n"
    "Runs COMMAND with libreqprof.so preloaded: every HTTP request it\n"
    "serves gets its report in DIR. reqprof run becomes COMMAND (the same\n"
    "process id, the same signals), so its exit status is COMMAND's, and\n"
    "a COMMAND killed by signal N is seen killed by it (a shell says\n"
    "128+N).\n"
    "\n"
    "  -o, --dir DIR      where reports go (sets REQPROF_DIR; default\n"
    "                     ./reqprof)\n"
    "  --output FORMATS   a comma list of text, json, html (sets\n"
    "                     REQPROF_OUTPUT; default text)\n"
    "\n"
    "The other REQPROF_* settings pass through the environment; all of them\n"
    "are checked before COMMAND starts. The library is the one installed\n"
    "with this reqprof (../lib/reqprof/libreqprof.so from it), else the one\n"
    "built beside it.\n"
    "Exit status: COMMAND's; reqprof run's own are 125 (a wrong command\n"
    "line or setting, no libreqprof.so), 126 (COMMAND cannot be run) and\n"
    "127 (COMMAND not found), as env(1) has them.\n";

/* reqprof run's own exit statuses, as env(1) and timeout(1) have them, so
 * that they stand apart from most commands' own. */
#define RUN_EXIT_FAILED 125
#define RUN_EXIT_CANNOT_RUN 126
#define RUN_EXIT_NOT_FOUND 127

/* Where the library is, from the directory of the reqprof binary: as make
 * install lays it out (PREFIX/bin, PREFIX/lib/reqprof), then as the build
 * leaves it (build/reqprof beside build/libreqprof.so). */
static const char *const library_places[] = {
    "../lib/reqprof/libreqprof.so",
    "libreqprof.so",
};

/*
 * Writes into path the absolute path of the library that goes with this
 * reqprof. Returns 0, or -1 after saying on stderr where it looked.
 */
static int run_find_library(char *path, size_t size)
{
    char binary[PATH_MAX], candidate[PATH_MAX + 64];
    ssize_t length = readlink("/proc/self/exe", binary, sizeof binary - 1);

    if (length <= 0) {
        fprintf(stderr, "reqprof run: cannot tell where this reqprof is "
                        "(/proc/self/exe: %s)\n", strerror(errno));
        return -1;
    }
    binary[length] = '\0';
    *strrchr(binary, '/') = '\0';
    for (size_t i = 0; i < sizeof library_places / sizeof library_places[0];
         i++) {
        snprintf(candidate, sizeof candidate, "%s/%s", binary,
                 library_places[i]);
        if (access(candidate, R_OK) == 0 && realpath(candidate, path) != NULL &&
            strlen(path) < size)
            return 0;
    }
    fprintf(stderr, "reqprof run: no libreqprof.so in %s/%s or %s/%s: "
                    "install it with reqprof (make install) or build it "
                    "(make)\n", binary, library_places[0], binary,
            library_places[1]);
    return -1;
}

/* Whether the list preloaded (LD_PRELOAD's) names a libreqprof.so. */
static bool run_preloads_reqprof(const char *preloaded)
{
    for (const char *entry = preloaded; *entry != '\0';) {
        size_t length = strcspn(entry, " :");
        const char *name = entry + length;
        while (name > entry && name[-1] != '/')
            name--;
        if ((size_t)(entry + length - name) == strlen("libreqprof.so") &&
            strncmp(name, "libreqprof.so", strlen("libreqprof.so")) == 0)
            return true;
        entry += length + (entry[length] != '\0');
    }
    return false;
}

/*
 * Puts library first in LD_PRELOAD, before what the caller preloads
 * already, unless that holds a libreqprof.so (two would profile each
 * other's signal). Returns 0, or -1 after saying why on stderr.
 */
static int run_preload(const char *library)
{
    const char *preloaded = getenv("LD_PRELOAD");
    char value[PATH_MAX * 4];
    int length;

    if (preloaded != NULL && run_preloads_reqprof(preloaded))
        return 0;

    /* The loader splits LD_PRELOAD at spaces and colons. */
    if (strpbrk(library, " :") != NULL) {
        fprintf(stderr, "reqprof run: cannot preload %s: LD_PRELOAD cannot "
                        "hold a path with a space or a colon\n", library);
        return -1;
    }
    if (preloaded == NULL || preloaded[0] == '\0')
        length = snprintf(value, sizeof value, "%s", library);
    else
        length = snprintf(value, sizeof value, "%s:%s", library, preloaded);
    if (length < 0 || (size_t)length >= sizeof value ||
        setenv("LD_PRELOAD", value, 1) != 0) {
        fprintf(stderr, "reqprof run: LD_PRELOAD is too long to add "
                        "libreqprof.so to\n");
        return -1;
    }
    return 0;
}

/*
 * Sets key for the command, checked as the library will check it, so that
 * a typo is said here rather than by every process of the command. A
 * directory goes as the absolute path the check made of it: the
 * command's processes may change directory before they load reqprof.
 * Returns 0, or -1 after saying why on stderr.
 */
static int run_set(const char *key, const char *value)
{
    struct rp_config config;
    char error[RP_CLI_ERROR_MAX];

    rp_config_defaults(&config);
    if (rp_config_set(&config, key, value, error, sizeof error) != 0 ||
        setenv(key, strcmp(key, "REQPROF_DIR") == 0 ? config.dir : value, 1) != 0) {
        fprintf(stderr, "reqprof run: %s\n", error);
        return -1;
    }
    return 0;
}

int rp_cli_run(int argc, char **argv)
{
    static const struct option options[] = {
        {"dir", required_argument, NULL, 'o'},
        {"output", required_argument, NULL, 'O'},
        {"help", no_argument, NULL, 'h'},
        {0}};
    struct rp_config config;
    char library[PATH_MAX], error[RP_CLI_ERROR_MAX];
    int option;

    opterr = 0;
    /* "+": options end at COMMAND, whose own options are its own. */
    while ((option = getopt_long(argc, argv, "+ho:", options, NULL)) != -1) {
        if (option == 'h')
            return rp_cli_usage(run_usage, true);
        if (option != 'o' && option != 'O') {
            rp_cli_bad_option(argv, run_usage);
            return RUN_EXIT_FAILED;
        }
        if (run_set(option == 'o' ? "REQPROF_DIR" : "REQPROF_OUTPUT",
                    optarg) != 0)
            return RUN_EXIT_FAILED;
    }
    if (optind == argc) {
        fprintf(stderr, "reqprof run: expected a COMMAND to run\n\n");
        rp_cli_usage(run_usage, false);
        return RUN_EXIT_FAILED;
    }
    /* The whole environment, REQPROF_CONFIG's file included, as the
     * library will read it. */
    if (rp_config_load(&config, error, sizeof error) != 0) {
        fprintf(stderr, "reqprof run: %s\n", error);
        return RUN_EXIT_FAILED;
    }
    if (run_find_library(library, sizeof library) != 0 ||
        run_preload(library) != 0)
        return RUN_EXIT_FAILED;
    execvp(argv[optind], argv + optind);
    if (errno == ENOENT) {
        /* execvp searched PATH only for a name without a slash. */
        fprintf(stderr, "reqprof run: %s: %s\n", argv[optind],
                strchr(argv[optind], '/') != NULL ? "no such file"
                                                  : "command not found");
        return RUN_EXIT_NOT_FOUND;
    }
    fprintf(stderr, "reqprof run: %s: %s\n", argv[optind], strerror(errno));
    return RUN_EXIT_CANNOT_RUN;
}
