build-merge/obj/preload/finish_queue.o: preload/finish_queue.c \
 preload/finish_queue.h preload/request.h preload/http_parser.h \
 preload/thread.h preload/sample_ring.h preload/unwind.h
preload/finish_queue.h:
preload/request.h:
preload/http_parser.h:
preload/thread.h:
preload/sample_ring.h:
preload/unwind.h:
