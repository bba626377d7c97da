build-merge/obj/cli/report_io.o: cli/report_io.c cli/cli.h \
 renderers/report.h renderers/calltree.h
cli/cli.h:
renderers/report.h:
renderers/calltree.h:
