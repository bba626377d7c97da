build-merge/obj/preload/interpose_process.o: preload/interpose_process.c \
 preload/interpose.h preload/log.h preload/process.h preload/config.h \
 preload/real.h preload/report_directory.h preload/thread.h \
 preload/sample_ring.h preload/unwind.h preload/wait.h
preload/interpose.h:
preload/log.h:
preload/process.h:
preload/config.h:
preload/real.h:
preload/report_directory.h:
preload/thread.h:
preload/sample_ring.h:
preload/unwind.h:
preload/wait.h:
