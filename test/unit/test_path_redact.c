/* Unit tests of REQPROF_REDACT=query (preload/path_redact.c). */
#include "path_redact.h"
#include "unit.h"

static void expect_redacted(const char *path, const char *expected)
{
    char out[512];
    size_t length = rp_path_redact_query(path, strlen(path), out);
    EXPECT_STR_EQ(expected, out);
    EXPECT_INT_EQ(strlen(expected), length);
}

UNIT_TEST(test_query_values_are_left_out_and_names_kept)
{
    expect_redacted("/login?token=SECRET", "/login?token=");
    expect_redacted("/a?x=1&token=SECRET&y=", "/a?x=&token=&y=");
    /* A value may hold '=' and '/': all of it goes. */
    expect_redacted("/a?next=/b?c=d", "/a?next=");
    expect_redacted("http://host:80/p?k=v", "http://host:80/p?k=");
}

UNIT_TEST(test_a_parameter_without_a_name_goes_whole)
{
    expect_redacted("/reset?SECRET", "/reset?");
    expect_redacted("/a?SECRET&x=1&OTHER", "/a?x=");
    expect_redacted("/a?&&x=1&", "/a?x=");
}

UNIT_TEST(test_paths_without_a_query_are_left_as_they_are)
{
    expect_redacted("/", "/");
    expect_redacted("/static/app.js", "/static/app.js");
    expect_redacted("", "");
    expect_redacted("/a?", "/a?");
}

int main(void)
{
    UNIT_RUN(test_query_values_are_left_out_and_names_kept);
    UNIT_RUN(test_a_parameter_without_a_name_goes_whole);
    UNIT_RUN(test_paths_without_a_query_are_left_as_they_are);
    return unit_finish();
}
