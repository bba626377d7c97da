/*
 * Function names as people read them. C++ and Rust (legacy mangling)
 * symbols come mangled (_ZN4acme4http...); libstdc++'s own demangler,
 * __cxa_demangle, turns them into what the source says, loaded into
 * reqprof's namespace (isolated.h) the first time a mangled name comes.
 * Rust's legacy names end in "::h" and 16 hex digits, a hash that tells
 * builds apart and says nothing to a reader: it goes. Writer thread only.
 */
#ifndef REQPROF_DEMANGLE_H
#define REQPROF_DEMANGLE_H

/* The readable name of symbol, a string of the report side's heap
 * (heap.h) for the caller to free; NULL when symbol is not mangled or
 * cannot be demangled (it is then shown as it is). */
char *rp_demangle(const char *symbol);

#endif
