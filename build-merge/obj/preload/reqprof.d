build-merge/obj/preload/reqprof.o: preload/reqprof.c preload/config.h \
 preload/conn_table.h preload/http_parser.h preload/request.h \
 preload/thread.h preload/sample_ring.h preload/unwind.h \
 preload/connection.h preload/follow.h preload/finish_queue.h \
 preload/isolated.h preload/log.h preload/process.h preload/real.h \
 preload/report_directory.h preload/sampler.h preload/writer.h
preload/config.h:
preload/conn_table.h:
preload/http_parser.h:
preload/request.h:
preload/thread.h:
preload/sample_ring.h:
preload/unwind.h:
preload/connection.h:
preload/follow.h:
preload/finish_queue.h:
preload/isolated.h:
preload/log.h:
preload/process.h:
preload/real.h:
preload/report_directory.h:
preload/sampler.h:
preload/writer.h:
