build-merge/obj/renderers/calltree.o: renderers/calltree.c \
 renderers/calltree.h
renderers/calltree.h:
