build-merge/obj/cli/reqprof.o: cli/reqprof.c cli/cli.h renderers/report.h \
 renderers/calltree.h
cli/cli.h:
renderers/report.h:
renderers/calltree.h:
