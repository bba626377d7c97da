build-merge/obj/renderers/utf8.o: renderers/utf8.c renderers/internal.h \
 renderers/calltree.h renderers/report.h
renderers/internal.h:
renderers/calltree.h:
renderers/report.h:
