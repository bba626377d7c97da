build-merge/obj/renderers/html_page.o: build-merge/gen/html_page.c \
 renderers/internal.h renderers/calltree.h
renderers/internal.h:
renderers/calltree.h:
