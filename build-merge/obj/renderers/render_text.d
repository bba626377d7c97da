build-merge/obj/renderers/render_text.o: renderers/render_text.c \
 renderers/internal.h renderers/calltree.h renderers/report.h
renderers/internal.h:
renderers/calltree.h:
renderers/report.h:
