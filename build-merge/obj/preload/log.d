build-merge/obj/preload/log.o: preload/log.c preload/log.h preload/real.h
preload/log.h:
preload/real.h:
