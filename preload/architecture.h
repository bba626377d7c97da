/*
 * reqprof is built for x86-64 Linux only. The files whose code is written
 * for it include this first: the unwinder (unwind.c: the x86-64 ABI's
 * registers, REG_RIP and the rest of the signal context, the sigreturn
 * trampoline), the vfork stub (interpose_process.c, in assembly) and the
 * HTTP parser's SSE2 scans (http_parser.c). Elsewhere the build stops
 * here with one clear line, not with an error deep inside one of them.
 */
#ifndef REQPROF_ARCHITECTURE_H
#define REQPROF_ARCHITECTURE_H

#if !defined(__x86_64__) || !defined(__linux__)
#error "reqprof supports x86-64 Linux only: its unwinder, vfork wrapper and HTTP parser are written for it (preload/architecture.h)"
#endif

#endif
