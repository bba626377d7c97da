build-merge/obj/preload/config.o: preload/config.c preload/config.h
preload/config.h:
