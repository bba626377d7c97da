build-merge/obj/preload/interpose.o: preload/interpose.c \
 preload/conn_table.h preload/http_parser.h preload/request.h \
 preload/thread.h preload/sample_ring.h preload/unwind.h \
 preload/connection.h preload/follow.h preload/interpose.h preload/wait.h \
 preload/process.h preload/config.h preload/real.h
preload/conn_table.h:
preload/http_parser.h:
preload/request.h:
preload/thread.h:
preload/sample_ring.h:
preload/unwind.h:
preload/connection.h:
preload/follow.h:
preload/interpose.h:
preload/wait.h:
preload/process.h:
preload/config.h:
preload/real.h:
