build-merge/obj/cli/command_merge.o: cli/command_merge.c cli/cli.h \
 renderers/report.h renderers/calltree.h
cli/cli.h:
renderers/report.h:
renderers/calltree.h:
