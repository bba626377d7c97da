build-merge/obj/preload/http_parser.o: preload/http_parser.c \
 preload/http_parser.h
preload/http_parser.h:
