build-merge/obj/preload/unwind.o: preload/unwind.c preload/unwind.h
preload/unwind.h:
