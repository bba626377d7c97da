build-merge/obj/renderers/buffer.o: renderers/buffer.c renderers/report.h \
 renderers/calltree.h
renderers/report.h:
renderers/calltree.h:
