build-merge/obj/renderers/render.o: renderers/render.c renderers/report.h \
 renderers/calltree.h
renderers/report.h:
renderers/calltree.h:
