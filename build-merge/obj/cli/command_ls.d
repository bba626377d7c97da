build-merge/obj/cli/command_ls.o: cli/command_ls.c cli/cli.h \
 renderers/report.h renderers/calltree.h
cli/cli.h:
renderers/report.h:
renderers/calltree.h:
