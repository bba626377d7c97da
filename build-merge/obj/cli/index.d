build-merge/obj/cli/index.o: cli/index.c cli/cli.h renderers/report.h \
 renderers/calltree.h
cli/cli.h:
renderers/report.h:
renderers/calltree.h:
