build-merge/obj/preload/fd_map.o: preload/fd_map.c preload/fd_map.h
preload/fd_map.h:
