build-merge/obj/renderers/render_pprof.o: renderers/render_pprof.c \
 renderers/internal.h renderers/calltree.h renderers/report.h
renderers/internal.h:
renderers/calltree.h:
renderers/report.h:
