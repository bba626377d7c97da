build-merge/obj/preload/connection.o: preload/connection.c \
 preload/connection.h preload/conn_table.h preload/http_parser.h \
 preload/request.h preload/thread.h preload/sample_ring.h \
 preload/unwind.h preload/finish_queue.h preload/log.h preload/writer.h
preload/connection.h:
preload/conn_table.h:
preload/http_parser.h:
preload/request.h:
preload/thread.h:
preload/sample_ring.h:
preload/unwind.h:
preload/finish_queue.h:
preload/log.h:
preload/writer.h:
