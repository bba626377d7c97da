build-merge/obj/preload/conn_table.o: preload/conn_table.c \
 preload/conn_table.h preload/http_parser.h preload/request.h \
 preload/thread.h preload/sample_ring.h preload/unwind.h preload/fd_map.h
preload/conn_table.h:
preload/http_parser.h:
preload/request.h:
preload/thread.h:
preload/sample_ring.h:
preload/unwind.h:
preload/fd_map.h:
