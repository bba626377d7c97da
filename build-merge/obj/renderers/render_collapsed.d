build-merge/obj/renderers/render_collapsed.o: \
 renderers/render_collapsed.c renderers/report.h renderers/calltree.h
renderers/report.h:
renderers/calltree.h:
