build-merge/obj/preload/real.o: preload/real.c preload/real.h
preload/real.h:
