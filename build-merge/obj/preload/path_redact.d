build-merge/obj/preload/path_redact.o: preload/path_redact.c \
 preload/path_redact.h
preload/path_redact.h:
