build-merge/obj/preload/report_disk.o: preload/report_disk.c \
 preload/report_disk.h preload/config.h preload/log.h preload/real.h \
 renderers/report.h renderers/calltree.h preload/report_directory.h
preload/report_disk.h:
preload/config.h:
preload/log.h:
preload/real.h:
renderers/report.h:
renderers/calltree.h:
preload/report_directory.h:
