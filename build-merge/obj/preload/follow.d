build-merge/obj/preload/follow.o: preload/follow.c preload/follow.h \
 preload/conn_table.h preload/http_parser.h preload/request.h \
 preload/thread.h preload/sample_ring.h preload/unwind.h \
 preload/connection.h preload/fd_map.h
preload/follow.h:
preload/conn_table.h:
preload/http_parser.h:
preload/request.h:
preload/thread.h:
preload/sample_ring.h:
preload/unwind.h:
preload/connection.h:
preload/fd_map.h:
