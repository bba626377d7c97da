/*
 * Tests of renderers/function_name.c, on names as libstdc++'s
 * __cxa_demangle writes them (taken from g++ 12's symbols: libstdc++'s
 * own, and a test file's with lambdas, operators and an anonymous
 * namespace): long lists become <…> and (…), short ones and the brackets
 * that are not lists stay.
 */
#include "internal.h"
#include "report.h"
#include "unit.h"

/* Checks that name is shown as expected, and says whether it was cut. */
static void expect_shown(const char *expected, const char *name)
{
    struct rp_buffer out;
    bool shortened;

    rp_buffer_init(&out);
    shortened = rp_function_name_put_short(&out, name, "…");
    EXPECT_STR_EQ(expected, out.data != NULL ? out.data : "");
    EXPECT_TRUE(shortened == (strcmp(expected, name) != 0));
    rp_buffer_free(&out);
}

UNIT_TEST(long_template_arguments_collapse_and_short_ones_stay)
{
    expect_shown("acme::http::Middleware<…>::invoke(acme::http::Request const&)",
                 "acme::http::Middleware<std::shared_ptr<acme::http::Context> "
                 ">::invoke(acme::http::Request const&)");
    expect_shown("acme::http::Middleware<std::shared_ptr<int> >::burn(unsigned int)",
                 "acme::http::Middleware<std::shared_ptr<int> >::burn(unsigned int)");
    expect_shown("std::vector<int>::push_back(int const&)",
                 "std::vector<int>::push_back(int const&)");
    expect_shown("acme::run(std::function<int (int)> const&)",
                 "acme::run(std::function<int (int)> const&)");
}

/* A list is judged once the lists inside it are shortened: the outer
 * list may then be short enough to stay, or not. */
UNIT_TEST(nested_lists_collapse_innermost_first)
{
    expect_shown("std::tr1::hash<std::__cxx11::basic_string<…> >::operator()"
                 "(std::__cxx11::basic_string<…>) const",
                 "std::tr1::hash<std::__cxx11::basic_string<char, "
                 "std::char_traits<char>, std::allocator<char> > >::operator()"
                 "(std::__cxx11::basic_string<char, std::char_traits<char>, "
                 "std::allocator<char> >) const");
    expect_shown("std::vector<std::pair<…> >::size() const",
                 "std::vector<std::pair<int, std::__cxx11::basic_string<char, "
                 "std::char_traits<char>, std::allocator<char> > > >::size() const");
    expect_shown("std::__cxx11::basic_string<…>::replace(…)",
                 "std::__cxx11::basic_string<wchar_t, std::char_traits<wchar_t>, "
                 "std::allocator<wchar_t> >::replace(__gnu_cxx::__normal_iterator"
                 "<wchar_t*, std::__cxx11::basic_string<wchar_t, "
                 "std::char_traits<wchar_t>, std::allocator<wchar_t> > >, "
                 "__gnu_cxx::__normal_iterator<wchar_t*, std::__cxx11::basic_string"
                 "<wchar_t, std::char_traits<wchar_t>, std::allocator<wchar_t> > >, "
                 "wchar_t const*, wchar_t const*)");
}

UNIT_TEST(operators_spelt_with_brackets_are_not_lists)
{
    expect_shown("acme::operator<(acme::Money, acme::Money)",
                 "acme::operator<(acme::Money, acme::Money)");
    expect_shown("acme::operator<<(std::ostream&, acme::Money)",
                 "acme::operator<<(std::ostream&, acme::Money)");
    expect_shown("bool acme::operator< <int>(…)",
                 "bool acme::operator< <int>(std::vector<int, std::allocator<int> > "
                 "const&, int)");
    expect_shown("acme::Box<std::__cxx11::basic_string<…> >::operator->()",
                 "acme::Box<std::__cxx11::basic_string<char, std::char_traits<char>, "
                 "std::allocator<char> > >::operator->()");
    expect_shown("acme::Box<std::__cxx11::basic_string<…> >::operator>(…) const",
                 "acme::Box<std::__cxx11::basic_string<char, std::char_traits<char>, "
                 "std::allocator<char> > >::operator>(acme::Box<std::__cxx11::"
                 "basic_string<char, std::char_traits<char>, std::allocator<char> > "
                 "> const&) const");
    expect_shown("acme::Box<int>::operator()(int) const",
                 "acme::Box<int>::operator()(int) const");
    expect_shown("std::basic_istream<char, std::char_traits<char> >::operator>>(…)",
                 "std::basic_istream<char, std::char_traits<char> >::operator>>"
                 "(std::ios_base& (*)(std::ios_base&))");
    /* A conversion operator's type is an ordinary name. */
    expect_shown("acme::Box<std::__cxx11::basic_string<…> >::operator "
                 "std::vector<…>() const",
                 "acme::Box<std::__cxx11::basic_string<char, std::char_traits<char>, "
                 "std::allocator<char> > >::operator std::vector<std::__cxx11::"
                 "basic_string<char, std::char_traits<char>, std::allocator<char> >, "
                 "std::allocator<std::__cxx11::basic_string<char, "
                 "std::char_traits<char>, std::allocator<char> > > >() const");
}

UNIT_TEST(lambdas_and_anonymous_namespaces)
{
    expect_shown("(anonymous namespace)::helper(int)", "(anonymous namespace)::helper(int)");
    expect_shown("(anonymous namespace)::Hidden::f(int)",
                 "(anonymous namespace)::Hidden::f(int)");
    expect_shown("use()::{lambda(int)#1}::operator()(int) const",
                 "use()::{lambda(int)#1}::operator()(int) const");
    expect_shown("acme::with_lambda(std::map<…> const&)::{lambda(std::vector<…> "
                 "const&)#1}::operator()(std::vector<…> const&) const",
                 "acme::with_lambda(std::map<std::__cxx11::basic_string<char, "
                 "std::char_traits<char>, std::allocator<char> >, std::vector<int, "
                 "std::allocator<int> >, std::less<std::__cxx11::basic_string<char, "
                 "std::char_traits<char>, std::allocator<char> > >, std::allocator<"
                 "std::pair<std::__cxx11::basic_string<char, std::char_traits<char>, "
                 "std::allocator<char> > const, std::vector<int, std::allocator<int> "
                 "> > > > const&)::{lambda(std::vector<std::pair<int, std::__cxx11::"
                 "basic_string<char, std::char_traits<char>, std::allocator<char> > >, "
                 "std::allocator<std::pair<int, std::__cxx11::basic_string<char, "
                 "std::char_traits<char>, std::allocator<char> > > > > const&)#1}::"
                 "operator()(std::vector<std::pair<int, std::__cxx11::basic_string"
                 "<char, std::char_traits<char>, std::allocator<char> > >, "
                 "std::allocator<std::pair<int, std::__cxx11::basic_string<char, "
                 "std::char_traits<char>, std::allocator<char> > > > > const&) const");
    /* In an anonymous namespace's list, the words are not a list. */
    expect_shown("std::unique_ptr<(anonymous namespace)::Hidden>::get() const",
                 "std::unique_ptr<(anonymous namespace)::Hidden>::get() const");
}

UNIT_TEST(c_names_and_broken_names_stay_as_they_are)
{
    expect_shown("burn_alpha", "burn_alpha");
    expect_shown("0x1f40", "0x1f40");
    expect_shown("[shared: 2 requests]", "[shared: 2 requests]");
    expect_shown("operator", "operator");
    /* A name cut short keeps what it has; a stray closer is a character. */
    expect_shown("acme::Box<std::basic_string<char, std::char_traits<char",
                 "acme::Box<std::basic_string<char, std::char_traits<char");
    expect_shown("a>b)c", "a>b)c");
    /* The ASCII views' ellipsis. */
    struct rp_buffer out;
    rp_buffer_init(&out);
    EXPECT_TRUE(rp_function_name_put_short(
        &out, "std::__cxx11::basic_string<char, std::char_traits<char>, "
              "std::allocator<char> >::_M_mutate(unsigned long, unsigned long, "
              "char const*, unsigned long)", "..."));
    EXPECT_STR_EQ("std::__cxx11::basic_string<...>::_M_mutate(...)", out.data);
    rp_buffer_free(&out);
}

int main(void)
{
    UNIT_RUN(long_template_arguments_collapse_and_short_ones_stay);
    UNIT_RUN(nested_lists_collapse_innermost_first);
    UNIT_RUN(operators_spelt_with_brackets_are_not_lists);
    UNIT_RUN(lambdas_and_anonymous_namespaces);
    UNIT_RUN(c_names_and_broken_names_stay_as_they_are);
    return unit_finish();
}
