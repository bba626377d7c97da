/*
 * reqprof, the command-line tool: lists, prints, converts, opens and
 * merges the reports libreqprof.so writes. This file only dispatches to
 * the commands (command_*.c); each has its own --help.
 *
 * Every command exits 0 when it did what was asked, 1 when a file is
 * missing, unreadable, corrupt or not reqprof's (one line on stderr names
 * the file and the reason), and 2 when the command line is wrong; except
 * run, which becomes the command it runs and so exits as it does.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "version.h"

static const char usage_text[] =
    "usage: reqprof COMMAND [ARGUMENTS]\n"
    "       reqprof --version\n"
    "\n"
    "  run [-o DIR] COMMAND...  run COMMAND (a server) under libreqprof.so\n"
    "  ls [DIR]                 the requests recorded in DIR (default\n"
    "                           REQPROF_DIR, else ./reqprof), as a table\n"
    "  show REPORT              print a report as a call tree (--latest,\n"
    "                           --slowest: DIR's latest or slowest)\n"
    "  open REPORT              open a report as a page in the browser\n"
    "  convert REPORT --to FMT  write a report as text, html, json, pprof,\n"
    "                           collapsed or speedscope\n"
    "  merge DIR                one profile of many requests (--path)\n"
    "  diff A B                 where B's time differs from A's, as one\n"
    "                           tree: reports, or directories merged\n"
    "  stats [DIR]              per route: count, p50/p90/p99 duration,\n"
    "                           CPU share, top functions by self time\n"
    "\n"
    "REPORT is any report libreqprof.so wrote, gzip-compressed or not:\n"
    "JSON, HTML or (for show) text. \"reqprof COMMAND --help\" tells more.\n"
    "Exit status: 0 done, 1 a file is missing, corrupt or not a report,\n"
    "2 a wrong command line or REQPROF_* setting (run: COMMAND's own).\n";

/* The usage; asked for, every setting too, from the library's table. */
static int usage(bool asked)
{
    int status = rp_cli_usage(usage_text, asked);

    if (!asked)
        return status;
    fputs("\nSettings of libreqprof.so and this tool, with their defaults: "
          "environment\nvariables, or keys of REQPROF_CONFIG's file (the "
          "environment wins);\nprofiler.conf.example tells more.\n", stdout);
    for (size_t i = 0; i < rp_config_key_count; i++) {
        const struct rp_config_key *key = &rp_config_keys[i];
        char setting[64];

        snprintf(setting, sizeof setting, "%s%s%s", key->name,
                 key->default_value != NULL ? "=" : "",
                 key->default_value != NULL ? key->default_value : "");
        printf("  %-26s %s\n", setting, key->doc);
    }
    return status;
}

static const struct {
    const char *name;
    int (*run)(int argc, char **argv);
} commands[] = {
    {"ls", rp_cli_ls},           {"show", rp_cli_show},
    {"open", rp_cli_open},       {"convert", rp_cli_convert},
    {"merge", rp_cli_merge},     {"run", rp_cli_run},
    {"diff", rp_cli_diff},       {"stats", rp_cli_stats},
};

int main(int argc, char **argv)
{
    if (argc < 2)
        return usage(false);
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0)
        return usage(true);
    if (strcmp(argv[1], "--version") == 0) {
        printf("reqprof %s\n", rp_version);
        return RP_EXIT_OK;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        if (strcmp(argv[1], commands[i].name) == 0)
            return commands[i].run(argc - 1, argv + 1);
    }
    fprintf(stderr, "reqprof: unknown command \"%s\"\n\n", argv[1]);
    return usage(false);
}
