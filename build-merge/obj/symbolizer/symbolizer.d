build-merge/obj/symbolizer/symbolizer.o: symbolizer/symbolizer.c \
 symbolizer/symbolizer.h renderers/calltree.h preload/isolated.h
symbolizer/symbolizer.h:
renderers/calltree.h:
preload/isolated.h:
