build-merge/obj/preload/interpose_wait.o: preload/interpose_wait.c \
 preload/connection.h preload/follow.h preload/process.h preload/config.h \
 preload/real.h preload/thread.h preload/sample_ring.h preload/unwind.h \
 preload/wait.h
preload/connection.h:
preload/follow.h:
preload/process.h:
preload/config.h:
preload/real.h:
preload/thread.h:
preload/sample_ring.h:
preload/unwind.h:
preload/wait.h:
