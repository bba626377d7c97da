build-merge/obj/renderers/string_set.o: renderers/string_set.c \
 renderers/internal.h renderers/calltree.h
renderers/internal.h:
renderers/calltree.h:
