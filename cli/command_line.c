/*
 * What every command does with its command line: usage, a wrong option,
 * the --to format, the default directory. Apart from main (reqprof.c), so
 * that the unit tests can run the commands.
 */
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"

int rp_cli_usage(const char *text, bool asked)
{
    /* Usage on request goes to stdout; after a mistake, to stderr, so a
     * script's output is never mistaken for a report. */
    fputs(text, asked ? stdout : stderr);
    return asked ? RP_EXIT_OK : RP_EXIT_USAGE;
}

int rp_cli_bad_option(char **argv, const char *usage)
{
    fprintf(stderr, "reqprof %s: unknown option or missing value: %s\n\n",
            argv[0], argv[optind - 1]);
    return rp_cli_usage(usage, false);
}

int rp_cli_format_option(char **argv, const char *name)
{
    int format = rp_format_from_name(name);

    if (format < 0)
        fprintf(stderr, "reqprof %s: --to %s: expected text, html, json, pprof "
                        "or collapsed\n", argv[0], name);
    return format;
}

const char *rp_cli_default_dir(void)
{
    const char *dir = getenv("REQPROF_DIR");

    return dir != NULL && dir[0] != '\0' ? dir : "reqprof";
}
