build-merge/obj/renderers/json_read.o: renderers/json_read.c \
 renderers/internal.h renderers/calltree.h renderers/report.h
renderers/internal.h:
renderers/calltree.h:
renderers/report.h:
