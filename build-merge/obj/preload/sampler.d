build-merge/obj/preload/sampler.o: preload/sampler.c preload/sampler.h \
 preload/process.h preload/config.h preload/real.h preload/thread.h \
 preload/sample_ring.h preload/unwind.h
preload/sampler.h:
preload/process.h:
preload/config.h:
preload/real.h:
preload/thread.h:
preload/sample_ring.h:
preload/unwind.h:
