build-merge/obj/preload/thread.o: preload/thread.c preload/thread.h \
 preload/sample_ring.h preload/unwind.h preload/log.h preload/process.h \
 preload/config.h
preload/thread.h:
preload/sample_ring.h:
preload/unwind.h:
preload/log.h:
preload/process.h:
preload/config.h:
