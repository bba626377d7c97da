build-merge/obj/preload/report_files.o: preload/report_files.c \
 preload/report_files.h preload/config.h preload/index_line.h \
 renderers/report.h renderers/calltree.h preload/isolated.h preload/log.h \
 preload/real.h preload/report_disk.h preload/report_directory.h
preload/report_files.h:
preload/config.h:
preload/index_line.h:
renderers/report.h:
renderers/calltree.h:
preload/isolated.h:
preload/log.h:
preload/real.h:
preload/report_disk.h:
preload/report_directory.h:
