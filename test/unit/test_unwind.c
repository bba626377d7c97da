/*
 * Unit tests of the unwinder (preload/unwind.c), built like the library:
 * -O2 without frame pointers, so every step goes through the CFI. A chain
 * of functions records the return address of each call in it; a walk must
 * hold them all, in order: from the calling code, from a signal's
 * interrupted context (inside libc), across a nested signal's frame, from
 * a loop a timer interrupts anywhere, across a frame-pointer function
 * without CFI and one whose CFA is a DWARF expression, and through a
 * library loaded after the table was built, once a sweep has seen it. A
 * library unloaded since the sweep is never read.
 */
#include <dlfcn.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/time.h>
#include <ucontext.h>
#include <unistd.h>
#include <zlib.h>

#include "unit.h"
#include "unwind.h"

/* Not inlined, not cloned, not turned into a jump: each call leaves its
 * return address on the stack, as in a server. */
#define FRAME __attribute__((noinline, noclone))
#define NO_TAIL_CALL() __asm__ volatile("" ::: "memory")

#define WALK_MAX 128

/* The return addresses of the chain's calls, innermost first. */
static void *chain[3];
static void *walked[WALK_MAX];
static int walked_count;
static struct rp_unwind_reader reader;

/* What the innermost function of the chain does. */
static void (*chain_action)(void);

FRAME static void chain_three(void)
{
    chain[0] = __builtin_return_address(0);
    chain_action();
    NO_TAIL_CALL();
}

FRAME static void chain_two(void)
{
    chain[1] = __builtin_return_address(0);
    chain_three();
    NO_TAIL_CALL();
}

FRAME static void chain_one(void)
{
    chain[2] = __builtin_return_address(0);
    chain_two();
    NO_TAIL_CALL();
}

static void run_chain(void (*action)(void))
{
    walked_count = 0;
    chain_action = action;
    chain_one();
}

/* How many of the chain's return addresses the walk holds, in order. */
static int walk_chain_found(void)
{
    int found = 0;
    for (int i = 0; i < walked_count && found < 3; i++)
        if (walked[i] == chain[found])
            found++;
    return found;
}

/* Whether the walk holds the whole chain; prints the walk when not. */
static bool walk_holds_chain(void)
{
    int found = walk_chain_found();
    if (found == 3)
        return true;
    fprintf(stderr, "  walk of %d frames:", walked_count);
    for (int i = 0; i < walked_count; i++)
        fprintf(stderr, " %p", walked[i]);
    fprintf(stderr, "\n  chain: %p %p %p (found %d)\n", chain[0], chain[1], chain[2], found);
    return false;
}

FRAME static void walk_here(void)
{
    walked_count = rp_unwind_here(&reader, walked, WALK_MAX);
    NO_TAIL_CALL();
}

UNIT_TEST(walks_from_here_through_the_callers)
{
    run_chain(walk_here);
    EXPECT_TRUE(walk_holds_chain());
    EXPECT_TRUE(rp_unwind_is_own_code(walked[0]));
    EXPECT_TRUE(reader.depth == 0 && reader.tables[0] == NULL);
}

static void walk_from_signal(int signal_number, siginfo_t *info, void *context)
{
    walked_count = rp_unwind_from_signal(context, &reader, walked, WALK_MAX);
}

static void install(int signal_number, void (*handler)(int, siginfo_t *, void *))
{
    struct sigaction action = {.sa_sigaction = handler, .sa_flags = SA_SIGINFO};
    sigemptyset(&action.sa_mask);
    sigaction(signal_number, &action, NULL);
}

FRAME static void raise_first_signal(void)
{
    raise(SIGUSR1);
    NO_TAIL_CALL();
}

UNIT_TEST(walks_from_a_signal_inside_libc)
{
    install(SIGUSR1, walk_from_signal);
    run_chain(raise_first_signal);
    EXPECT_TRUE(walk_holds_chain());
    /* The interrupted instruction is libc's (the kill system call). */
    EXPECT_TRUE(walked_count > 0 && !rp_unwind_is_own_code(walked[0]));
}

FRAME static void raise_second_signal(int signal_number, siginfo_t *info, void *context)
{
    raise(SIGUSR2);
    NO_TAIL_CALL();
}

UNIT_TEST(walks_across_a_nested_signal_frame)
{
    /* The second signal's walk starts inside the first one's handler, and
     * reaches the chain only through the kernel's signal frame. */
    install(SIGUSR1, raise_second_signal);
    install(SIGUSR2, walk_from_signal);
    run_chain(raise_first_signal);
    EXPECT_TRUE(walk_holds_chain());
}

/* Walks that the timer took, and how many held the chain. */
static volatile int timer_walks, timer_walks_whole;

static void walk_from_timer(int signal_number, siginfo_t *info, void *context)
{
    walk_from_signal(signal_number, info, context);
    timer_walks++;
    if (walk_holds_chain())
        timer_walks_whole++;
}

static volatile uint64_t spin_sink;

FRAME static void spin_until_walked(void)
{
    /* Arithmetic without calls: the timer lands anywhere in this frame. */
    uint64_t x = spin_sink;
    while (timer_walks < 20)
        x = x * 6364136223846793005u + 1442695040888963407u;
    spin_sink = x;
    NO_TAIL_CALL();
}

UNIT_TEST(walks_from_a_loop_a_timer_interrupts)
{
    install(SIGPROF, walk_from_timer);
    struct itimerval every_millisecond = {{0, 1000}, {0, 1000}};
    setitimer(ITIMER_PROF, &every_millisecond, NULL);
    run_chain(spin_until_walked);
    struct itimerval off = {{0, 0}, {0, 0}};
    setitimer(ITIMER_PROF, &off, NULL);
    EXPECT_INT_EQ(timer_walks, timer_walks_whole);
}

/* What the assembly functions below call. */
void (*assembly_callee)(void) __attribute__((visibility("hidden"), used));

/* A function with a frame pointer and no CFI, as JIT compilers emit it. */
void no_cfi_frame(void) __attribute__((visibility("hidden")));
__asm__(".pushsection .text\n"
        ".globl no_cfi_frame\n"
        ".type no_cfi_frame, @function\n"
        "no_cfi_frame:\n"
        "    push %rbp\n"
        "    mov %rsp, %rbp\n"
        "    call *assembly_callee(%rip)\n"
        "    pop %rbp\n"
        "    ret\n"
        ".size no_cfi_frame, .-no_cfi_frame\n"
        ".popsection\n");

UNIT_TEST(crosses_a_frame_without_cfi_by_its_frame_pointer)
{
    assembly_callee = walk_here;
    run_chain(no_cfi_frame);
    EXPECT_TRUE(walk_holds_chain());
}

/* A function whose CFA its CFI gives as a DWARF expression, as PLT entries
 * and stack-realigning functions do: DW_CFA_def_cfa_expression
 * (DW_OP_breg7 (rsp) + 32). */
void expression_frame(void) __attribute__((visibility("hidden")));
__asm__(".pushsection .text\n"
        ".globl expression_frame\n"
        ".type expression_frame, @function\n"
        "expression_frame:\n"
        "    .cfi_startproc\n"
        "    sub $24, %rsp\n"
        "    .cfi_escape 0x0f, 0x02, 0x77, 0x20\n"
        "    call *assembly_callee(%rip)\n"
        "    add $24, %rsp\n"
        "    .cfi_def_cfa rsp, 8\n"
        "    ret\n"
        "    .cfi_endproc\n"
        ".size expression_frame, .-expression_frame\n"
        ".popsection\n");

UNIT_TEST(crosses_a_frame_whose_cfa_is_an_expression)
{
    assembly_callee = walk_here;
    run_chain(expression_frame);
    EXPECT_TRUE(walk_holds_chain());
}

/* zlib, loaded after the table was built: its deflateInit2_ calls our
 * allocator back, and the walk from there must cross zlib's frames. */
static void *walking_allocator(void *opaque, unsigned items, unsigned size)
{
    if (walked_count == 0)
        walked_count = rp_unwind_here(&reader, walked, WALK_MAX);
    return calloc(items, size);
}

static void plain_free(void *opaque, void *address)
{
    free(address);
}

static int (*zlib_deflate_init)(z_stream *, int, int, int, int, int, const char *, int);
static int (*zlib_deflate_end)(z_stream *);

FRAME static void call_into_zlib(void)
{
    z_stream stream = {.zalloc = walking_allocator, .zfree = plain_free};
    zlib_deflate_init(&stream, 1, Z_DEFLATED, 15, 8, Z_DEFAULT_STRATEGY,
                      ZLIB_VERSION, (int)sizeof stream);
    zlib_deflate_end(&stream);
    NO_TAIL_CALL();
}

UNIT_TEST(a_library_loaded_later_is_walked_after_a_sweep)
{
    void *zlib = dlopen("libz.so.1", RTLD_NOW | RTLD_LOCAL);
    EXPECT_TRUE(zlib != NULL);
    if (zlib == NULL)
        return;
    zlib_deflate_init = (int (*)(z_stream *, int, int, int, int, int, const char *, int))
        dlsym(zlib, "deflateInit2_");
    zlib_deflate_end = (int (*)(z_stream *))dlsym(zlib, "deflateEnd");
    /* Before the sweep zlib's code is unknown: its frames are taken for
     * frame-pointer frames, which they are not (Debian builds it without). */
    run_chain(call_into_zlib);
    EXPECT_TRUE(walk_chain_found() < 3);
    rp_unwind_sweep_begin();
    rp_unwind_sweep_reader(&reader);
    rp_unwind_sweep_end();
    run_chain(call_into_zlib);
    EXPECT_TRUE(walk_holds_chain());
}

/*
 * A coroutine's stack is not the thread's: the walk reads it through the
 * kernel (process_vm_readv), which fails where a direct read would fault,
 * and still finds the chain. Its top is a page that faults.
 */
static ucontext_t coroutine_context, caller_context;

static void coroutine_body(void)
{
    run_chain(walk_here);
}

UNIT_TEST(walks_a_stack_that_is_not_the_threads_without_faulting)
{
    size_t size = 64 * 1024;
    char *stack = mmap(NULL, size + 4096, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    EXPECT_TRUE(stack != MAP_FAILED);
    EXPECT_TRUE(mprotect(stack + size, 4096, PROT_NONE) == 0);
    getcontext(&coroutine_context);
    coroutine_context.uc_stack.ss_sp = stack;
    coroutine_context.uc_stack.ss_size = size;
    coroutine_context.uc_link = &caller_context;
    makecontext(&coroutine_context, coroutine_body, 0);
    EXPECT_TRUE(swapcontext(&caller_context, &coroutine_context) == 0);
    EXPECT_TRUE(walk_holds_chain());
    munmap(stack, size + 4096);
}

/*
 * A library unloaded since the last sweep stays in the table until the
 * next, and a thread may meanwhile run code that another dlopen mapped
 * over its addresses. The walk must not read the unloaded library's
 * unwind tables: here they are made inaccessible, as the holes between a
 * library's segments are, and a read would kill the test.
 */
UNIT_TEST(a_library_unloaded_since_the_sweep_is_not_read)
{
    void *library = dlopen("libelf.so.1", RTLD_NOW | RTLD_LOCAL);
    EXPECT_TRUE(library != NULL);
    if (library == NULL)
        return;
    void *code = dlsym(library, "elf_version");
    struct dl_find_object found;
    EXPECT_TRUE(code != NULL && _dl_find_object(code, &found) == 0);
    rp_unwind_sweep_begin();
    rp_unwind_sweep_reader(&reader);
    rp_unwind_sweep_end();
    EXPECT_INT_EQ(0, dlclose(library));
    EXPECT_TRUE(_dl_find_object(code, &found) != 0); /* it is gone */
    uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    uintptr_t start = (uintptr_t)found.dlfo_eh_frame & ~(page - 1);
    size_t size = (((uintptr_t)found.dlfo_map_end + page - 1) & ~(page - 1)) - start;
    void *hole = mmap((void *)start, size, PROT_NONE,
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    EXPECT_TRUE(hole == (void *)start);
    ucontext_t context;
    getcontext(&context);
    context.uc_mcontext.gregs[REG_RIP] = (greg_t)code;
    context.uc_mcontext.gregs[REG_RBP] = 0; /* no frame-pointer guess either */
    EXPECT_INT_EQ(1, rp_unwind_from_signal(&context, &reader, walked, WALK_MAX));
    munmap(hole, size);
}

int main(void)
{
    char error[256];
    if (rp_unwind_load(error, sizeof error) != 0) {
        printf("%s\n", error);
        return 1;
    }
    /* As reqprof's threads do: the walks below read this stack directly. */
    rp_unwind_reader_init(&reader);
    UNIT_RUN(walks_from_here_through_the_callers);
    UNIT_RUN(walks_from_a_signal_inside_libc);
    UNIT_RUN(walks_across_a_nested_signal_frame);
    UNIT_RUN(walks_from_a_loop_a_timer_interrupts);
    UNIT_RUN(crosses_a_frame_without_cfi_by_its_frame_pointer);
    UNIT_RUN(crosses_a_frame_whose_cfa_is_an_expression);
    UNIT_RUN(a_library_loaded_later_is_walked_after_a_sweep);
    UNIT_RUN(walks_a_stack_that_is_not_the_threads_without_faulting);
    UNIT_RUN(a_library_unloaded_since_the_sweep_is_not_read);
    return unit_finish();
}
