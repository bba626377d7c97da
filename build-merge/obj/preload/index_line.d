build-merge/obj/preload/index_line.o: preload/index_line.c \
 preload/index_line.h renderers/report.h renderers/calltree.h
preload/index_line.h:
renderers/report.h:
renderers/calltree.h:
