/*
 * Unit tests of the symbolizer (symbolizer/symbolizer.c) and of the
 * namespace its libdw lives in (preload/isolated.c): the same code the
 * preloaded library and the tool run.
 */
#include <dlfcn.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "isolated.h"
#include "symbolizer.h"
#include "unit.h"

/* A function to find by its address; its body keeps it from being folded
 * into another. */
__attribute__((noinline)) static int symbolizer_test_target(int x)
{
    __asm__ volatile("" : "+r"(x));
    return x * 3 + 1;
}

/*
 * A call the compiler inlines (always_inline, in this -O2 -g build): its
 * code is in symbolizer_test_caller, and only the DWARF says which
 * instructions are its. The probe it calls keeps the return address,
 * which is in that code.
 */
static uintptr_t probe_return_address;
static volatile int probe_calls;

__attribute__((noinline)) static void symbolizer_test_probe(void)
{
    probe_return_address = (uintptr_t)__builtin_return_address(0);
    __asm__ volatile("");
}

__attribute__((always_inline)) static inline void symbolizer_test_inlined(void)
{
    symbolizer_test_probe();
    probe_calls++; /* after the call: no tail call */
}

__attribute__((noinline)) static void symbolizer_test_caller(void)
{
    symbolizer_test_inlined();
    probe_calls++;
}

/* The frames at address, outermost first; *innermost gets the last. */
static size_t lookup(struct rp_symbolizer *symbolizer, uintptr_t address,
                     bool is_return_address, const struct rp_frame **innermost)
{
    const struct rp_frame *frames[RP_SYMBOLIZER_FRAMES_MAX];
    size_t count = rp_symbolizer_lookup(symbolizer, address, is_return_address,
                                        frames, RP_SYMBOLIZER_FRAMES_MAX);

    *innermost = count > 0 ? frames[count - 1] : NULL;
    return count;
}

static bool ends_with(const char *text, const char *end)
{
    size_t length = strlen(text), end_length = strlen(end);

    return length >= end_length && strcmp(text + length - end_length, end) == 0;
}

UNIT_TEST(names_a_function_of_this_program_with_its_source_line)
{
    struct rp_symbolizer *symbolizer = rp_symbolizer_new();
    const struct rp_frame *frame;

    EXPECT_TRUE(symbolizer != NULL);
    EXPECT_INT_EQ(1, lookup(symbolizer, (uintptr_t)&symbolizer_test_target + 1,
                            false, &frame));
    EXPECT_STR_EQ("symbolizer_test_target", frame->function);
    EXPECT_STR_EQ("test_symbolizer", frame->object);
    EXPECT_TRUE(frame->file != NULL && ends_with(frame->file, "test_symbolizer.c"));
    EXPECT_TRUE(frame->line > 0);
    rp_symbolizer_free(symbolizer);
}

UNIT_TEST(names_a_function_of_libc)
{
    struct rp_symbolizer *symbolizer = rp_symbolizer_new();
    void *getppid_address = dlsym(RTLD_DEFAULT, "getppid");
    const struct rp_frame *frame;

    EXPECT_INT_EQ(1, lookup(symbolizer, (uintptr_t)getppid_address, false, &frame));

    EXPECT_STR_EQ("getppid", frame->function);
    EXPECT_STR_EQ("libc.so.6", frame->object);
    rp_symbolizer_free(symbolizer);
}

UNIT_TEST(an_inlined_call_is_a_frame_of_its_own_under_its_caller)
{
    struct rp_symbolizer *symbolizer = rp_symbolizer_new();
    const struct rp_frame *frames[RP_SYMBOLIZER_FRAMES_MAX];
    size_t count;

    symbolizer_test_caller();
    count = rp_symbolizer_lookup(symbolizer, probe_return_address, true, frames,
                                 RP_SYMBOLIZER_FRAMES_MAX);
    EXPECT_INT_EQ(2, count);
    if (count == 2) {
        EXPECT_STR_EQ("symbolizer_test_caller", frames[0]->function);
        EXPECT_TRUE(!frames[0]->inlined);
        EXPECT_STR_EQ("symbolizer_test_inlined", frames[1]->function);
        EXPECT_TRUE(frames[1]->inlined);
        EXPECT_STR_EQ("test_symbolizer", frames[1]->object);
        EXPECT_TRUE(frames[1]->file != NULL &&
                    ends_with(frames[1]->file, "test_symbolizer.c"));
        EXPECT_TRUE(frames[1]->line > 0 && frames[1]->line != frames[0]->line);
    }
    /* Without room for both, the innermost stays: where the time is. */
    EXPECT_INT_EQ(1, rp_symbolizer_lookup(symbolizer, probe_return_address, true,
                                          frames, 1));
    EXPECT_STR_EQ("symbolizer_test_inlined", frames[0]->function);
    /* A function with nothing inlined is one frame. */
    EXPECT_INT_EQ(1, rp_symbolizer_lookup(symbolizer,
                                          (uintptr_t)&symbolizer_test_probe + 1,
                                          false, frames, RP_SYMBOLIZER_FRAMES_MAX));
    EXPECT_STR_EQ("symbolizer_test_probe", frames[0]->function);
    EXPECT_TRUE(!frames[0]->inlined);
    rp_symbolizer_free(symbolizer);
}

/* libdw and zlib load, and none of their names reach the program's own
 * global scope: this program links neither. */
UNIT_TEST(the_libraries_stay_out_of_the_global_scope)
{
    EXPECT_TRUE(rp_isolated_load(RP_ISOLATED_LIBDW));
    EXPECT_TRUE(rp_isolated_load(RP_ISOLATED_ZLIB));
    EXPECT_TRUE(dlsym(RTLD_DEFAULT, "dwfl_begin") == NULL);
    EXPECT_TRUE(dlsym(RTLD_DEFAULT, "elf_begin") == NULL);
    EXPECT_TRUE(dlsym(RTLD_DEFAULT, "deflate") == NULL);
    EXPECT_TRUE(RP_ISOLATED(dwfl_begin) != NULL && RP_ISOLATED(deflate) != NULL);
}

/* Exit status of a child that checks the namespace it got after a fork
 * made while the parent was busy inside (true) or not: 0 when it got a
 * fresh one (busy) or the parent's (not busy), and symbolizes with it. */
static int fork_and_check(bool busy)
{
    Dwfl *(*parents)(const Dwfl_Callbacks *) = RP_ISOLATED(dwfl_begin);
    pid_t child;
    int status;

    rp_isolated_set_busy(busy);
    child = fork();
    if (child == 0) {
        rp_isolated_after_fork_in_child();
        struct rp_symbolizer *symbolizer = rp_symbolizer_new();
        const struct rp_frame *frame;
        lookup(symbolizer, (uintptr_t)&symbolizer_test_target + 1, false, &frame);
        bool fresh = RP_ISOLATED(dwfl_begin) != parents;
        _exit(fresh == busy &&
                      strcmp(frame->function, "symbolizer_test_target") == 0
                  ? 0
                  : 1);
    }
    rp_isolated_set_busy(false);
    if (child < 0 || waitpid(child, &status, 0) != child || !WIFEXITED(status))
        return -1;
    return WEXITSTATUS(status);
}

UNIT_TEST(a_child_forked_while_the_libraries_were_busy_loads_its_own)
{
    EXPECT_TRUE(rp_isolated_load(RP_ISOLATED_LIBDW));
    EXPECT_INT_EQ(0, fork_and_check(true));
    EXPECT_INT_EQ(0, fork_and_check(false));
}

int main(void)
{
    UNIT_RUN(names_a_function_of_this_program_with_its_source_line);
    UNIT_RUN(names_a_function_of_libc);
    UNIT_RUN(an_inlined_call_is_a_frame_of_its_own_under_its_caller);
    UNIT_RUN(the_libraries_stay_out_of_the_global_scope);
    UNIT_RUN(a_child_forked_while_the_libraries_were_busy_loads_its_own);
    return unit_finish();
}
