build-merge/obj/cli/command_report.o: cli/command_report.c cli/cli.h \
 renderers/report.h renderers/calltree.h
cli/cli.h:
renderers/report.h:
renderers/calltree.h:
