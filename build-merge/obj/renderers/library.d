build-merge/obj/renderers/library.o: renderers/library.c \
 renderers/internal.h renderers/calltree.h
renderers/internal.h:
renderers/calltree.h:
