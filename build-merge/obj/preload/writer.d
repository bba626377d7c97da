build-merge/obj/preload/writer.o: preload/writer.c preload/writer.h \
 preload/finish_queue.h preload/request.h preload/http_parser.h \
 preload/thread.h preload/sample_ring.h preload/unwind.h \
 preload/isolated.h preload/log.h preload/path_redact.h preload/process.h \
 preload/config.h preload/real.h preload/report_budget.h \
 preload/report_files.h preload/index_line.h renderers/report.h \
 renderers/calltree.h symbolizer/symbolizer.h renderers/calltree.h
preload/writer.h:
preload/finish_queue.h:
preload/request.h:
preload/http_parser.h:
preload/thread.h:
preload/sample_ring.h:
preload/unwind.h:
preload/isolated.h:
preload/log.h:
preload/path_redact.h:
preload/process.h:
preload/config.h:
preload/real.h:
preload/report_budget.h:
preload/report_files.h:
preload/index_line.h:
renderers/report.h:
renderers/calltree.h:
symbolizer/symbolizer.h:
renderers/calltree.h:
