/*
 * What every command does with its command line: usage, a wrong option,
 * the --to format, the settings. Apart from main (reqprof.c), so that the
 * unit tests can run the commands.
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
    char names[128];

    if (format < 0) {
        rp_format_names(names, sizeof names, false);
        fprintf(stderr, "reqprof %s: --to %s: expected one of: %s\n", argv[0],
                name, names);
    }
    return format;
}

int rp_cli_write_option(char **argv, int option, const char *value,
                        struct rp_text_options *text, int *format,
                        const char **output)
{
    if (option == 'o') {
        *output = value;
        return 1;
    }
    if (option == 't')
        return (*format = rp_cli_format_option(argv, value)) < 0 ? -1 : 1;
    return rp_cli_text_options_apply_option(option, value, text);
}

int rp_cli_settings(struct rp_config *config)
{
    char message[1024];

    if (rp_config_unknown_in_environment(message, sizeof message))
        fprintf(stderr, "reqprof: %s\n", message);
    if (rp_config_load(config, message, sizeof message) == 0)
        return 0;
    fprintf(stderr, "reqprof: %s\n", message);
    return -1;
}

int rp_cli_directory_argument(int argc, char **argv, const char *usage,
                              struct rp_config *config, const char **dir)
{
    if (argc - optind > 1) {
        fprintf(stderr, "reqprof %s: expected at most one DIR\n\n", argv[0]);
        return rp_cli_usage(usage, false);
    }
    if (optind < argc) {
        *dir = argv[optind];
        return RP_EXIT_OK;
    }
    if (rp_cli_settings(config) != 0)
        return RP_EXIT_USAGE;
    *dir = config->dir;
    return RP_EXIT_OK;
}
