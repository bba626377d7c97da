# reqprof: a per-request sampling profiler for native HTTP servers.
#
#   make          build/libreqprof.so (to LD_PRELOAD) and build/reqprof (the tool)
#   make demo     the test server under reqprof, a few requests, one report
#   make test     unit and end-to-end tests; ends with "N passed, N failed"
#   make fuzz     the fuzz targets (test/fuzz/), FUZZ_SECONDS each; new
#                 inputs go into their corpus (make test runs them briefly)
#   make bench    what reqprof costs, beside no profiler, the signal floor,
#                 gperftools and perf (bench/RESULTS.md); BENCH_QUICK=1: short
#   make unit     the unit tests alone: no root, no packages beyond the build's
#   make install  bin/reqprof, lib/reqprof/libreqprof.so, the man page and
#                 bash completion under DESTDIR$(PREFIX) (PREFIX=/usr/local);
#                 make uninstall removes them
#   make deps     install the Debian packages the build and tests need (as root)
#   make clean
#
# Override OPTIMIZATION, CFLAGS or LDFLAGS on the command line as usual.

CC ?= cc
OPTIMIZATION ?= -O2
BUILD ?= build
# Where make install puts things: DESTDIR$(PREFIX)/bin/reqprof and so on.
PREFIX ?= /usr/local
DESTDIR ?=
# reqprof's version: the VERSION file is its one source (preload/version.h).
VERSION := $(shell cat VERSION)

WARNINGS = -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
           -Wpointer-arith -Wformat=2 -Wno-unused-parameter
# -fPIC everywhere: the same objects go into the preloaded library and the tool.
# -fvisibility=hidden: nothing of ours is seen by the server but the interposed
# libc functions (preload/interposed.def, through $(EXPORTS_MAP)).
FINAL_CFLAGS = -std=gnu11 $(OPTIMIZATION) -g -fPIC -fvisibility=hidden \
               $(WARNINGS) -MMD -MP -Ipreload -Isymbolizer -Irenderers \
               -D_GNU_SOURCE $(CFLAGS)
FINAL_LDFLAGS = $(LDFLAGS)

PRELOAD_SOURCES := $(wildcard preload/*.c)
SYMBOLIZER_SOURCES := $(wildcard symbolizer/*.c)
RENDERER_SOURCES := $(wildcard renderers/*.c)
CLI_SOURCES := $(wildcard cli/*.c)
UNIT_TEST_SOURCES := $(wildcard test/unit/test_*.c)

objects_of = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))

LIBRARY = $(BUILD)/libreqprof.so
# The library's version script, made from preload/interposed.def.
EXPORTS_MAP = $(BUILD)/gen/exports.map
TOOL = $(BUILD)/reqprof
# Modules without process-wide state, for unit tests to link against.
CORE_ARCHIVE = $(BUILD)/libreqprof-core.a
UNIT_TESTS = $(patsubst test/unit/%.c,$(BUILD)/test/unit/%,$(UNIT_TEST_SOURCES))
TEST_SERVER = $(BUILD)/test/test_server
# Programs the end-to-end tests run under reqprof (test/server/*.c).
TEST_PROGRAMS = $(patsubst test/server/%.c,$(BUILD)/test/%,$(wildcard test/server/*.c))
# The socket probe again, built as distributions build servers: with
# _FORTIFY_SOURCE its reads become __read_chk and __recv_chk.
TEST_PROGRAMS += $(BUILD)/test/socket_probe_fortified
# The C++ one: its names come mangled.
TEST_PROGRAMS += $(BUILD)/test/cpp_server
# The benchmark's CPU-bound server: fixed work with no system call in it.
TEST_PROGRAMS += $(BUILD)/bench/work_server
# Preloaded faults (test/fault/*.c): a disk that fills mid-append.
TEST_PROGRAMS += $(patsubst test/fault/%.c,$(BUILD)/test/%.so,$(wildcard test/fault/*.c))

# The test server is built the way servers ship: optimised, with debug info
# and without frame pointers, so reqprof must unwind through DWARF CFI.
TEST_SERVER_CFLAGS = -std=gnu11 -O2 -g -fomit-frame-pointer -Wall -Wextra \
                     -D_GNU_SOURCE -pthread

# The benchmark's programs (bench/*.c): the server of its CPU-bound
# workload, the preloaded signal floor, the handler's cost per sample and
# the per-request bookkeeping's, a fork's, the handoff wrappers', and the
# server's mallocs beside the writer's trim (malloc_stall and handoff_cost
# are run by hand: bench/README.md).
BENCH_PROGRAMS = $(BUILD)/bench/work_server $(BUILD)/bench/libfloor.so \
                 $(BUILD)/bench/sample_cost $(BUILD)/bench/bookkeeping_cost \
                 $(BUILD)/bench/fork_cost $(BUILD)/bench/malloc_stall \
                 $(BUILD)/bench/handoff_cost

# libFuzzer targets (test/fuzz/), built with clang and its fuzzer runtime
# (test/install-deps installs them); without clang, make test skips them.
FUZZ_CC ?= $(firstword $(shell command -v clang-14 clang 2>/dev/null))
FUZZ_CFLAGS = -std=gnu11 -g -O1 -fsanitize=fuzzer,address,undefined \
              -fno-sanitize-recover=undefined -D_GNU_SOURCE \
              -Ipreload -Isymbolizer -Irenderers
FUZZ_TARGETS = $(BUILD)/fuzz/fuzz_http_parser $(BUILD)/fuzz/fuzz_json_read
# make test gives each 30 s; make fuzz as long as this.
FUZZ_SECONDS ?= 600

.PHONY: all test unit demo deps bench fuzz install uninstall clean
all: $(LIBRARY) $(TOOL)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(FINAL_CFLAGS) -c $< -o $@

# The tool's own code among the renderers: reading reports back (JSON and
# HTML, which are untrusted input), merging trees, the formats only the
# tool writes (renderers/render.c: the library writes only those
# REQPROF_OUTPUT takes) and reqprof diff's views. The preloaded library is
# linked without it: a parser has no business in every profiled server, and
# test_library_symbols checks that none of it is there. The tool and the
# unit tests name these objects: render.c's weak references to the tool's
# renderers would not take them out of an archive.
TOOL_RENDERER_OBJECTS = $(call objects_of,renderers/json_read.c renderers/html_read.c \
                          renderers/calltree_merge.c renderers/report.c \
                          renderers/render_pprof.c renderers/render_collapsed.c \
                          renderers/render_diff.c \
                          renderers/render_speedscope.c)
LIBRARY_RENDERER_OBJECTS = $(filter-out $(TOOL_RENDERER_OBJECTS),$(call objects_of,$(RENDERER_SOURCES)))

# Not linked with libdw or zlib: they are loaded into a namespace of their
# own (preload/isolated.h), so that a server defining their names (varnishd
# has its own zlib) and reqprof never bind to each other's. Their headers
# are still needed, for the types.
# -z now: every symbol the library calls is bound as it loads, so the
# signal handler's first call of each (clock_gettime, timer_settime,
# process_vm_readv, _dl_find_object) does not go through the loader's lazy
# binding, which may take the loader's lock and saves the vector registers
# on the stack the handler runs on; and a fork child that called a function
# the parent never did would write its GOT entry, a page copied in every
# child.
$(LIBRARY): $(call objects_of,$(PRELOAD_SOURCES) $(SYMBOLIZER_SOURCES)) $(LIBRARY_RENDERER_OBJECTS) $(EXPORTS_MAP)
	$(CC) -shared -o $@ $(filter %.o,$^) $(FINAL_LDFLAGS) -Wl,-z,defs -Wl,-z,now \
	    -Wl,--version-script=$(EXPORTS_MAP) -Wl,--no-undefined-version \
	    -ldl -lpthread -lrt

# The linker's version script, which exports the interposed functions and
# nothing else: the list in preload/interposed.def, through the
# preprocessor alone (-undef: no predefined name such as "linux" may stand
# in for one). With --no-undefined-version above, a name listed there
# without a wrapper stops the link.
$(EXPORTS_MAP): preload/exports.map.in preload/interposed.def
	@mkdir -p $(dir $@)
	$(CC) -E -P -undef -x c -Ipreload preload/exports.map.in > $@.tmp && mv $@.tmp $@

# The tool reads reports with zlib's gzread: its own process, linked
# normally. Its symbols, like the library's, come through isolated.h.
$(TOOL): $(call objects_of,$(CLI_SOURCES)) $(TOOL_RENDERER_OBJECTS) $(CORE_ARCHIVE)
	$(CC) -o $@ $^ $(FINAL_LDFLAGS) -lz -ldl

$(CORE_ARCHIVE): $(LIBRARY_RENDERER_OBJECTS) $(call objects_of,$(SYMBOLIZER_SOURCES) preload/heap.c preload/isolated.c preload/log.c preload/real.c preload/http_parser.c preload/pending.c preload/config.c preload/index_line.c preload/report_budget.c preload/path_redact.c preload/stretch_hold.c preload/peer_name.c preload/peer_waits.c)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/test/unit/%: test/unit/%.c $(TOOL_RENDERER_OBJECTS) $(CORE_ARCHIVE)
	@mkdir -p $(dir $@)
	$(CC) $(FINAL_CFLAGS) -Itest/unit $(UNIT_TEST_CFLAGS) -o $@ $< $(UNIT_TEST_OBJECTS) \
	    $(TOOL_RENDERER_OBJECTS) $(CORE_ARCHIVE) $(FINAL_LDFLAGS) $(UNIT_TEST_LIBS) -ldl

# The tool's test runs its commands: the tool's objects, all but its main.
CLI_COMMAND_OBJECTS = $(call objects_of,$(filter-out cli/reqprof.c,$(CLI_SOURCES)))
$(BUILD)/test/unit/test_cli: UNIT_TEST_OBJECTS = $(CLI_COMMAND_OBJECTS)
$(BUILD)/test/unit/test_cli: UNIT_TEST_CFLAGS = -Icli
$(BUILD)/test/unit/test_cli: UNIT_TEST_LIBS = -lz
$(BUILD)/test/unit/test_cli: $(CLI_COMMAND_OBJECTS)

# The connection table's test links the library's own objects: it forks
# with connections in the table, as a server does.
$(BUILD)/test/unit/test_conn_table: UNIT_TEST_OBJECTS = $(BUILD)/obj/preload/conn_table.o $(BUILD)/obj/preload/fd_map.o
$(BUILD)/test/unit/test_conn_table: $(BUILD)/obj/preload/conn_table.o $(BUILD)/obj/preload/fd_map.o

# The unwinder's test links the library's own object: the same code, the
# same flags (no frame pointers).
$(BUILD)/test/unit/test_unwind: UNIT_TEST_OBJECTS = $(BUILD)/obj/preload/unwind.o
$(BUILD)/test/unit/test_unwind: $(BUILD)/obj/preload/unwind.o

# The handoffs' test links the library's own object, with the thread and
# fd modules it calls stubbed in the test.
$(BUILD)/test/unit/test_handoff: UNIT_TEST_OBJECTS = $(BUILD)/obj/preload/handoff.o
$(BUILD)/test/unit/test_handoff: $(BUILD)/obj/preload/handoff.o

# The finish queue's test links the library's own object: many threads
# push at once.
$(BUILD)/test/unit/test_finish_queue: UNIT_TEST_OBJECTS = $(BUILD)/obj/preload/finish_queue.o
$(BUILD)/test/unit/test_finish_queue: UNIT_TEST_LIBS = -lpthread
$(BUILD)/test/unit/test_finish_queue: $(BUILD)/obj/preload/finish_queue.o

# The report files' test links the library's own objects, with the heap
# its own (it fails on demand): heap.o is not taken from the archive.
REPORT_FILES_TEST_OBJECTS = $(call objects_of,preload/report_files.c preload/report_disk.c \
                              preload/report_directory.c)
$(BUILD)/test/unit/test_report_files: UNIT_TEST_OBJECTS = $(REPORT_FILES_TEST_OBJECTS)
$(BUILD)/test/unit/test_report_files: UNIT_TEST_LIBS = -lz
$(BUILD)/test/unit/test_report_files: $(REPORT_FILES_TEST_OBJECTS)

# The report directory's test links the library's own object: it switches
# users as a root server does, in forked children.
$(BUILD)/test/unit/test_report_directory: UNIT_TEST_OBJECTS = $(BUILD)/obj/preload/report_directory.o
$(BUILD)/test/unit/test_report_directory: $(BUILD)/obj/preload/report_directory.o

$(BUILD)/test/cpp_server: test/server/cpp_server.cpp
	@mkdir -p $(dir $@)
	$(CXX) -std=gnu++17 -O2 -g -Wall -Wextra -pthread -o $@ $<

$(BUILD)/test/%: test/server/%.c test/server/server_support.h test/server/call_probe.h
	@mkdir -p $(dir $@)
	$(CC) $(TEST_SERVER_CFLAGS) -o $@ $< $(TEST_SERVER_LDLIBS)

$(BUILD)/test/%.so: test/fault/%.c
	@mkdir -p $(dir $@)
	$(CC) $(TEST_SERVER_CFLAGS) -fPIC -shared -o $@ $< -ldl

$(BUILD)/test/socket_probe_fortified: test/server/socket_probe.c test/server/call_probe.h
	@mkdir -p $(dir $@)
	$(CC) $(TEST_SERVER_CFLAGS) -D_FORTIFY_SOURCE=2 -o $@ $<

# Test programs that link a library of the server they stand for.
$(BUILD)/test/mhd_server: TEST_SERVER_LDLIBS = -lmicrohttpd
$(BUILD)/test/evhttp_server: TEST_SERVER_LDLIBS = -levent
# Exports its own zlib, libelf and libdw names, as varnishd exports its zlib.
$(BUILD)/test/clash_server: TEST_SERVER_LDLIBS = -rdynamic
# Built as distributions build servers: its polls become __poll_chk.
$(BUILD)/test/timer_probe: TEST_SERVER_CFLAGS += -D_FORTIFY_SOURCE=2

deps:
	@test/install-deps test $(BUILD)

test: deps
	@$(MAKE) --no-print-directory all $(UNIT_TESTS) $(TEST_PROGRAMS) \
	    $(if $(FUZZ_CC),$(FUZZ_TARGETS))
	@test/run-tests $(BUILD)

unit:
	@test/install-deps build
	@$(MAKE) --no-print-directory $(UNIT_TESTS)
	@test/run-tests $(BUILD) unit

fuzz: deps
	@$(MAKE) --no-print-directory $(FUZZ_TARGETS)
	@test/fuzz/run $(BUILD) $(FUZZ_SECONDS) --grow

$(BUILD)/fuzz/fuzz_http_parser: test/fuzz/fuzz_http_parser.c preload/http_parser.c \
                                preload/http_parser.h
# The renderers allocate through the report side's heap (preload/heap.h),
# which can take the libraries' namespace's malloc.
$(BUILD)/fuzz/fuzz_json_read: test/fuzz/fuzz_json_read.c $(RENDERER_SOURCES) \
                              $(BUILD)/gen/html_page.c $(wildcard renderers/*.h) \
                              preload/heap.c preload/isolated.c preload/log.c \
                              preload/real.c
$(FUZZ_TARGETS):
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ $(filter %.c,$^) -lm -lz -ldl

# Only what the demo needs: the build's packages and curl.
demo:
	@test/install-deps demo
	@$(MAKE) --no-print-directory all $(TEST_SERVER)
	@test/demo $(BUILD)

bench:
	@bench/install-deps
	@$(MAKE) --no-print-directory all $(TEST_SERVER) $(BENCH_PROGRAMS)
	@python3 bench/run.py --build $(BUILD) $(if $(BENCH_QUICK),--quick)

$(BUILD)/bench/work_server: bench/work_server.c
	@mkdir -p $(dir $@)
	$(CC) $(TEST_SERVER_CFLAGS) -o $@ $<

$(BUILD)/bench/libfloor.so: bench/floor.c
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 -O2 -g -fPIC -shared -fvisibility=hidden -Wall -Wextra \
	    -Wno-unused-parameter -o $@ $< -ldl -lrt

$(BUILD)/bench/sample_cost: bench/sample_cost.c
	@mkdir -p $(dir $@)
	$(CC) $(TEST_SERVER_CFLAGS) -Wno-unused-parameter -o $@ $<

$(BUILD)/bench/handoff_cost: bench/handoff_cost.c
	@mkdir -p $(dir $@)
	$(CC) $(TEST_SERVER_CFLAGS) -o $@ $< -ldl

$(BUILD)/bench/fork_cost: bench/fork_cost.c
	@mkdir -p $(dir $@)
	$(CC) $(TEST_SERVER_CFLAGS) -o $@ $<

$(BUILD)/bench/malloc_stall: bench/malloc_stall.c test/server/server_support.h
	@mkdir -p $(dir $@)
	$(CC) $(TEST_SERVER_CFLAGS) -o $@ $<

# The parser as the library has it: the same object, the same flags.
$(BUILD)/bench/bookkeeping_cost: bench/bookkeeping_cost.c $(BUILD)/obj/preload/http_parser.o
	@mkdir -p $(dir $@)
	$(CC) $(FINAL_CFLAGS) -o $@ $^ -ldl -lrt

# The layout reqprof run expects: the library in lib/reqprof/ beside the
# bin/ that holds the tool (cli/command_run.c).
INSTALL_DIR = $(DESTDIR)$(PREFIX)
install: all
	install -D -m 755 $(TOOL) $(INSTALL_DIR)/bin/reqprof
	install -D -m 644 $(LIBRARY) $(INSTALL_DIR)/lib/reqprof/libreqprof.so
	install -D -m 644 docs/reqprof.1 $(INSTALL_DIR)/share/man/man1/reqprof.1
	install -D -m 644 cli/reqprof.bash \
	    $(INSTALL_DIR)/share/bash-completion/completions/reqprof
	install -D -m 644 profiler.conf.example \
	    $(INSTALL_DIR)/share/doc/reqprof/profiler.conf.example

uninstall:
	rm -f $(INSTALL_DIR)/bin/reqprof $(INSTALL_DIR)/lib/reqprof/libreqprof.so \
	    $(INSTALL_DIR)/share/man/man1/reqprof.1 \
	    $(INSTALL_DIR)/share/bash-completion/completions/reqprof \
	    $(INSTALL_DIR)/share/doc/reqprof/profiler.conf.example
	-rmdir $(INSTALL_DIR)/lib/reqprof $(INSTALL_DIR)/share/doc/reqprof

clean:
	rm -rf $(BUILD)

# The HTML report's page is written as HTML, CSS and JavaScript in
# renderers/html/ and built into the library and the tool as C strings.
HTML_PAGE_SOURCES = renderers/html/report.html renderers/html/report.css \
                    renderers/html/report.js
HTML_PAGE_OBJECT = $(BUILD)/obj/renderers/html_page.o

$(BUILD)/gen/html_page.c: renderers/embed.sh $(HTML_PAGE_SOURCES)
	@mkdir -p $(dir $@)
	renderers/embed.sh $(HTML_PAGE_SOURCES) > $@.tmp && mv $@.tmp $@

$(HTML_PAGE_OBJECT): $(BUILD)/gen/html_page.c
	@mkdir -p $(dir $@)
	$(CC) $(FINAL_CFLAGS) -c $< -o $@

$(LIBRARY) $(CORE_ARCHIVE): $(HTML_PAGE_OBJECT)

# The version as C, made from VERSION alone: a new version rebuilds this one
# object and relinks, nothing else.
VERSION_OBJECT = $(BUILD)/obj/gen/version.o

$(BUILD)/gen/version.c: VERSION
	@mkdir -p $(dir $@)
	@case '$(VERSION)' in *[!0-9A-Za-z.+~-]*|'') \
	    echo 'VERSION must be one word such as 0.1.0, not "$(VERSION)"' >&2; exit 1;; esac
	printf 'const char rp_version[] = "%s";\n' '$(VERSION)' > $@.tmp && mv $@.tmp $@

$(VERSION_OBJECT): $(BUILD)/gen/version.c
	@mkdir -p $(dir $@)
	$(CC) $(FINAL_CFLAGS) -c $< -o $@

$(LIBRARY) $(CORE_ARCHIVE): $(VERSION_OBJECT)

-include $(shell find $(BUILD)/obj $(BUILD)/test -name '*.d' 2>/dev/null)
