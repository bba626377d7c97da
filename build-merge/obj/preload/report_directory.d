build-merge/obj/preload/report_directory.o: preload/report_directory.c \
 preload/report_directory.h preload/real.h
preload/report_directory.h:
preload/real.h:
