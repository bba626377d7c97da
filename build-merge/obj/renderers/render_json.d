build-merge/obj/renderers/render_json.o: renderers/render_json.c \
 renderers/internal.h renderers/calltree.h renderers/report.h
renderers/internal.h:
renderers/calltree.h:
renderers/report.h:
