build-merge/obj/renderers/number_format.o: renderers/number_format.c \
 renderers/report.h renderers/calltree.h
renderers/report.h:
renderers/calltree.h:
