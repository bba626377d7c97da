build-merge/obj/renderers/report.o: renderers/report.c renderers/report.h \
 renderers/calltree.h
renderers/report.h:
renderers/calltree.h:
