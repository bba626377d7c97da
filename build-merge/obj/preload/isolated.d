build-merge/obj/preload/isolated.o: preload/isolated.c preload/isolated.h \
 preload/log.h
preload/isolated.h:
preload/log.h:
