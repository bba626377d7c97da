/*
 * reqprof's own libraries, zlib and elfutils' libdw (with libelf, liblzma,
 * libbz2 behind it), loaded into a link-map namespace of their own with
 * dlmopen(LM_ID_NEWLM), and the functions reqprof calls in them.
 *
 * A server may define any of their names itself (varnishd exports its own
 * modified zlib), and a library's calls between its own public functions
 * go through its PLT: linked normally, or dlopen'ed RTLD_LOCAL, they would
 * bind to the server's definitions first. In a namespace of their own they
 * bind only to each other and to the namespace's own libc, whatever the
 * process exports, and nothing of theirs is seen by the server. Not
 * RTLD_DEEPBIND: it binds the libraries' free() to glibc's while the
 * malloc() inside glibc (getline, strdup) stays the server's, which crashes
 * a server that brings its own malloc (docs/development-notes.md).
 *
 * The namespace has its own libc, and with it its own malloc: memory and
 * FILEs handed to these libraries, to be freed or closed by them, come from
 * the namespace's functions (strdup, fopen below), never from reqprof's.
 * The writer's own memory comes from that malloc too (heap.h).
 */
#ifndef REQPROF_ISOLATED_H
#define REQPROF_ISOLATED_H

#include <elfutils/libdwelf.h>
#include <elfutils/libdwfl.h>
#include <malloc.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <zlib.h>

/* The libraries, each loaded (or not) on its own, in this order, and
 * only when first asked for (with those before it): libdw brings zlib
 * into the namespace with it, so that zlib's own dlmopen only finds it
 * there. Loading more into an existing namespace is the least trodden
 * path of dlmopen (glibc bug 29600, fixed in 2.37, made such calls hang
 * for some libraries; Debian 12's did not: docs/development-notes.md).
 * libstdc++ comes last, for its demangler, when a mangled name first
 * needs it: a C server never loads it. */
enum rp_isolated_library {
    RP_ISOLATED_LIBDW,
    RP_ISOLATED_ZLIB,
    RP_ISOLATED_DEMANGLER,
    RP_ISOLATED_LIBRARIES
};

/* libstdc++'s demangler (cxxabi.h, a C++ header): a C name, declared here
 * for __typeof__ below. Returns a string of the namespace's malloc. */
char *__cxa_demangle(const char *mangled, char *buffer, size_t *length, int *status);

/*
 * Every function reqprof calls in them: the library whose handle dlsym
 * looks it up in (libelf's and libc's come through libdw's, which needs
 * them), and its name. Its type is its declaration in the library's own
 * header, taken with __typeof__, so it cannot drift from it.
 */
#define RP_ISOLATED_FUNCTIONS(X)                                             \
    X(RP_ISOLATED_ZLIB, deflateInit2_)                                       \
    X(RP_ISOLATED_ZLIB, deflateReset)                                        \
    X(RP_ISOLATED_ZLIB, deflateBound)                                        \
    X(RP_ISOLATED_ZLIB, deflate)                                             \
    X(RP_ISOLATED_ZLIB, deflateEnd)                                          \
    X(RP_ISOLATED_LIBDW, dwfl_begin)                                         \
    X(RP_ISOLATED_LIBDW, dwfl_end)                                           \
    X(RP_ISOLATED_LIBDW, dwfl_report_begin_add)                              \
    X(RP_ISOLATED_LIBDW, dwfl_linux_proc_maps_report)                        \
    X(RP_ISOLATED_LIBDW, dwfl_report_end)                                    \
    X(RP_ISOLATED_LIBDW, dwfl_linux_proc_find_elf)                           \
    X(RP_ISOLATED_LIBDW, dwfl_build_id_find_debuginfo)                       \
    X(RP_ISOLATED_LIBDW, dwfl_addrmodule)                                    \
    X(RP_ISOLATED_LIBDW, dwfl_module_info)                                   \
    X(RP_ISOLATED_LIBDW, dwfl_module_addrinfo)                               \
    X(RP_ISOLATED_LIBDW, dwfl_module_build_id)                               \
    X(RP_ISOLATED_LIBDW, dwfl_module_getsrc)                                 \
    X(RP_ISOLATED_LIBDW, dwfl_module_getelf)                                 \
    X(RP_ISOLATED_LIBDW, dwfl_lineinfo)                                      \
    X(RP_ISOLATED_LIBDW, dwfl_module_addrdie)                                \
    X(RP_ISOLATED_LIBDW, dwarf_haspc)                                        \
    X(RP_ISOLATED_LIBDW, dwarf_tag)                                          \
    X(RP_ISOLATED_LIBDW, dwarf_child)                                        \
    X(RP_ISOLATED_LIBDW, dwarf_siblingof)                                    \
    X(RP_ISOLATED_LIBDW, dwarf_ranges)                                       \
    X(RP_ISOLATED_LIBDW, dwarf_attr_integrate)                               \
    X(RP_ISOLATED_LIBDW, dwarf_formstring)                                   \
    X(RP_ISOLATED_LIBDW, dwarf_decl_file)                                    \
    X(RP_ISOLATED_LIBDW, dwarf_decl_line)                                    \
    X(RP_ISOLATED_LIBDW, dwelf_elf_gnu_build_id)                             \
    X(RP_ISOLATED_LIBDW, elf_begin)                                          \
    X(RP_ISOLATED_LIBDW, elf_end)                                            \
    X(RP_ISOLATED_LIBDW, elf_getphdrnum)                                     \
    X(RP_ISOLATED_LIBDW, gelf_getphdr)                                       \
    X(RP_ISOLATED_LIBDW, fopen)                                              \
    X(RP_ISOLATED_LIBDW, fclose)                                             \
    X(RP_ISOLATED_LIBDW, strdup)                                             \
    X(RP_ISOLATED_LIBDW, malloc)                                             \
    X(RP_ISOLATED_LIBDW, calloc)                                             \
    X(RP_ISOLATED_LIBDW, realloc)                                            \
    X(RP_ISOLATED_LIBDW, free)                                               \
    X(RP_ISOLATED_LIBDW, malloc_trim)                                        \
    X(RP_ISOLATED_DEMANGLER, __cxa_demangle)

struct rp_isolated_functions {
#define RP_ISOLATED_POINTER(library, name) __typeof__(name) *name;
    RP_ISOLATED_FUNCTIONS(RP_ISOLATED_POINTER)
#undef RP_ISOLATED_POINTER
};

/* Filled by rp_isolated_load; NULL for a library that did not load. */
extern struct rp_isolated_functions rp_isolated_functions;

/* The function NAME of the namespace. Only after rp_isolated_load said
 * its library is there. */
#define RP_ISOLATED(name) (rp_isolated_functions.name)

/*
 * Loads the libraries, the first time only (again in a fork child whose
 * parent was inside them: rp_isolated_after_fork_in_child), and returns
 * whether library is there. A library that cannot be loaded is said once
 * on stderr, with the reason and what to do; reqprof goes on without it.
 * One thread at a time: the writer thread in the preloaded library.
 */
bool rp_isolated_load(enum rp_isolated_library library);

/*
 * The calling thread is about to call into the libraries (true), or is
 * done with them for now (false). A fork while a thread is inside may
 * leave their locks held in the child (the namespace's malloc is not
 * locked around fork as the process's is), so such a child loads a fresh
 * namespace instead of using the parent's.
 */
void rp_isolated_set_busy(bool busy);

/* Around fork (pthread_atfork's three): a fork waits while the dynamic
 * loader loads the libraries (a second at most), and a child whose parent was busy inside
 * them (rp_isolated_set_busy) loads a namespace of its own. */
void rp_isolated_before_fork(void);
void rp_isolated_after_fork_in_parent(void);
void rp_isolated_after_fork_in_child(void);

#endif
