build-merge/obj/preload/wait.o: preload/wait.c preload/wait.h \
 preload/thread.h preload/sample_ring.h preload/unwind.h \
 preload/process.h preload/config.h
preload/wait.h:
preload/thread.h:
preload/sample_ring.h:
preload/unwind.h:
preload/process.h:
preload/config.h:
