/*
 * Tests of symbolizer/demangle.c: libstdc++'s demangler, loaded into
 * reqprof's namespace, names C++ and Rust functions as their source
 * does, Rust's build hash goes, and what is not mangled stays as it is.
 */
#include <stdlib.h>

#include "demangle.h"
#include "heap.h"
#include "unit.h"

/* The readable name of symbol, or "(as it is)". */
static void expect_readable(const char *expected, const char *symbol)
{
    char *readable = rp_demangle(symbol);
    EXPECT_STR_EQ(expected, readable != NULL ? readable : "(as it is)");
    rp_heap_free(readable);
}

UNIT_TEST(cpp_names_read_as_the_source_does)
{
    expect_readable("acme::http::handle(int)", "_ZN4acme4http6handleEi");
    expect_readable("acme::http::Middleware<int>::invoke()",
                    "_ZN4acme4http10MiddlewareIiE6invokeEv");
}

UNIT_TEST(rusts_build_hash_goes)
{
    expect_readable("core::fmt::write", "_ZN4core3fmt5write17h0123456789abcdefE");
}

UNIT_TEST(names_not_mangled_or_not_valid_stay_as_they_are)
{
    expect_readable("(as it is)", "burn_alpha");
    expect_readable("(as it is)", "_Zbogus");
    expect_readable("(as it is)", "");
}

int main(void)
{
    UNIT_RUN(cpp_names_read_as_the_source_does);
    UNIT_RUN(rusts_build_hash_goes);
    UNIT_RUN(names_not_mangled_or_not_valid_stay_as_they_are);
    return unit_finish();
}
