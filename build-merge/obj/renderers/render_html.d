build-merge/obj/renderers/render_html.o: renderers/render_html.c \
 renderers/internal.h renderers/calltree.h renderers/report.h
renderers/internal.h:
renderers/calltree.h:
renderers/report.h:
