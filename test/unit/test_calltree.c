/*
 * Unit tests of the call tree (renderers/calltree.c): totals and self
 * counts after known stacks, frame interning, sibling order.
 */
#include <stdio.h>
#include <stdlib.h>

#include "calltree.h"
#include "unit.h"

/* Interns a frame with only a function name. */
static uint32_t intern_function(struct rp_calltree *tree, const char *function)
{
    struct rp_frame frame = {function, NULL, NULL, 0, false, 0};

    return rp_calltree_intern(tree, &frame);
}

/* Follows the path of frame ids from the root; NULL if it is not there. */
static const struct rp_calltree_node *
node_at(const struct rp_calltree *tree, const uint32_t *frames, size_t depth)
{
    const struct rp_calltree_node *node = rp_calltree_root(tree);

    for (size_t i = 0; i < depth && node != NULL; i++)
        node = rp_calltree_child(tree, node, frames[i]);
    return node;
}

static size_t child_count(const struct rp_calltree_node *node)
{
    size_t count = 0;

    for (node = node->first_child; node != NULL; node = node->next_sibling)
        count++;
    return count;
}

UNIT_TEST(empty_tree_is_a_root_without_samples)
{
    struct rp_calltree *tree = rp_calltree_new();
    const struct rp_calltree_node *root = rp_calltree_root(tree);

    EXPECT_INT_EQ(RP_FRAME_ROOT, root->frame);
    EXPECT_INT_EQ(0, root->total);
    EXPECT_INT_EQ(0, root->self);
    EXPECT_TRUE(root->parent == NULL);
    EXPECT_TRUE(root->first_child == NULL);
    EXPECT_STR_EQ("[request]",
                  rp_calltree_frame(tree, RP_FRAME_ROOT)->function);
    EXPECT_TRUE(rp_calltree_frame(tree, 0) == NULL);
    rp_calltree_free(tree);
    rp_calltree_free(NULL);
}

UNIT_TEST(totals_and_self_of_known_stacks)
{
    struct rp_calltree *tree = rp_calltree_new();
    uint32_t main_ = intern_function(tree, "main");
    uint32_t serve = intern_function(tree, "serve");
    uint32_t burn = intern_function(tree, "burn");
    uint32_t parse = intern_function(tree, "parse");
    uint32_t main_serve_burn[] = {main_, serve, burn};
    uint32_t main_parse[] = {main_, parse};

    EXPECT_INT_EQ(0, rp_calltree_add_stack(tree, main_serve_burn, 3, 1));
    EXPECT_INT_EQ(0, rp_calltree_add_stack(tree, main_serve_burn, 3, 4));
    EXPECT_INT_EQ(0, rp_calltree_add_stack(tree, main_serve_burn, 2, 2));
    EXPECT_INT_EQ(0, rp_calltree_add_stack(tree, main_parse, 2, 3));
    EXPECT_INT_EQ(0, rp_calltree_add_stack(tree, main_parse, 1, 1));

    EXPECT_INT_EQ(11, node_at(tree, main_serve_burn, 0)->total);
    EXPECT_INT_EQ(0, node_at(tree, main_serve_burn, 0)->self);
    EXPECT_INT_EQ(11, node_at(tree, main_serve_burn, 1)->total);
    EXPECT_INT_EQ(1, node_at(tree, main_serve_burn, 1)->self);
    EXPECT_INT_EQ(7, node_at(tree, main_serve_burn, 2)->total);
    EXPECT_INT_EQ(2, node_at(tree, main_serve_burn, 2)->self);
    EXPECT_INT_EQ(5, node_at(tree, main_serve_burn, 3)->total);
    EXPECT_INT_EQ(5, node_at(tree, main_serve_burn, 3)->self);
    EXPECT_INT_EQ(3, node_at(tree, main_parse, 2)->total);
    EXPECT_INT_EQ(3, node_at(tree, main_parse, 2)->self);
    EXPECT_INT_EQ(2, child_count(node_at(tree, main_parse, 1)));
    EXPECT_TRUE(node_at(tree, main_serve_burn, 3)->parent ==
                node_at(tree, main_serve_burn, 2));
    rp_calltree_free(tree);
}

UNIT_TEST(depth_zero_counts_on_the_root)
{
    struct rp_calltree *tree = rp_calltree_new();
    uint32_t leaf = intern_function(tree, "leaf");

    EXPECT_INT_EQ(0, rp_calltree_add_stack(tree, NULL, 0, 3));
    EXPECT_INT_EQ(0, rp_calltree_add_stack(tree, &leaf, 1, 2));
    EXPECT_INT_EQ(5, rp_calltree_root(tree)->total);
    EXPECT_INT_EQ(3, rp_calltree_root(tree)->self);
    EXPECT_INT_EQ(1, child_count(rp_calltree_root(tree)));
    rp_calltree_free(tree);
}

UNIT_TEST(same_function_under_two_parents_is_two_nodes)
{
    struct rp_calltree *tree = rp_calltree_new();
    uint32_t a = intern_function(tree, "a");
    uint32_t b = intern_function(tree, "b");
    uint32_t shared = intern_function(tree, "memcpy");
    uint32_t a_shared[] = {a, shared}, b_shared[] = {b, shared};
    const struct rp_calltree_node *under_a, *under_b;

    rp_calltree_add_stack(tree, a_shared, 2, 2);
    rp_calltree_add_stack(tree, b_shared, 2, 5);
    under_a = node_at(tree, a_shared, 2);
    under_b = node_at(tree, b_shared, 2);
    EXPECT_TRUE(under_a != NULL && under_b != NULL && under_a != under_b);
    EXPECT_INT_EQ(shared, under_a->frame);
    EXPECT_INT_EQ(shared, under_b->frame);
    EXPECT_INT_EQ(2, under_a->total);
    EXPECT_INT_EQ(5, under_b->total);
    rp_calltree_free(tree);
}

UNIT_TEST(recursion_makes_a_chain_of_the_same_frame)
{
    struct rp_calltree *tree = rp_calltree_new();
    uint32_t fib = intern_function(tree, "fib");
    uint32_t stack[] = {fib, fib, fib};
    const struct rp_calltree_node *node;

    rp_calltree_add_stack(tree, stack, 3, 1);
    rp_calltree_add_stack(tree, stack, 2, 1);
    rp_calltree_add_stack(tree, stack, 1, 1);
    for (size_t depth = 1; depth <= 3; depth++) {
        node = node_at(tree, stack, depth);
        EXPECT_TRUE(node != NULL);
        if (node == NULL)
            continue;
        EXPECT_INT_EQ(fib, node->frame);
        EXPECT_INT_EQ(4 - depth, node->total);
        EXPECT_INT_EQ(1, node->self);
        EXPECT_INT_EQ(depth < 3 ? 1 : 0, child_count(node));
    }
    rp_calltree_free(tree);
}

UNIT_TEST(interning_compares_every_field)
{
    struct rp_calltree *tree = rp_calltree_new();
    char function[] = "burn";
    struct rp_frame bare = {function, NULL, NULL, 0, false, 0};
    struct rp_frame in_object = {"burn", "server", NULL, 0, false, 0};
    struct rp_frame empty_object = {"burn", "", NULL, 0, false, 0};
    struct rp_frame at_line = {"burn", "server", "server.c", 40, false, 0};
    struct rp_frame other_line = {"burn", "server", "server.c", 41, false, 0};
    struct rp_frame no_line = {"burn", "server", "server.c", 0, false, 0};
    struct rp_frame inlined = {"burn", "server", "server.c", 40, true, 0};
    struct rp_frame no_function = {NULL, "server", NULL, 0, false, 0};
    uint32_t ids[7];

    ids[0] = rp_calltree_intern(tree, &bare);
    ids[1] = rp_calltree_intern(tree, &in_object);
    ids[2] = rp_calltree_intern(tree, &empty_object);
    ids[3] = rp_calltree_intern(tree, &at_line);
    ids[4] = rp_calltree_intern(tree, &other_line);
    ids[5] = rp_calltree_intern(tree, &no_line);
    ids[6] = rp_calltree_intern(tree, &inlined);
    for (int i = 0; i < 7; i++) {
        EXPECT_TRUE(ids[i] != RP_FRAME_ROOT);
        for (int j = 0; j < i; j++)
            EXPECT_TRUE(ids[i] != ids[j]);
    }
    /* Equal contents give the same id, whoever owns the strings. */
    {
        char copy[] = "server.c";
        struct rp_frame again = {"burn", "server", copy, 40, false, 0};

        EXPECT_INT_EQ(ids[3], rp_calltree_intern(tree, &again));
    }
    EXPECT_INT_EQ(ids[0], rp_calltree_intern(tree, &bare));
    /* The tree keeps copies: changing the caller's string changes nothing. */
    function[0] = 'B';
    EXPECT_STR_EQ("burn", rp_calltree_frame(tree, ids[0])->function);
    EXPECT_TRUE(rp_calltree_frame(tree, ids[0])->object == NULL);
    EXPECT_STR_EQ("", rp_calltree_frame(tree, ids[2])->object);
    EXPECT_INT_EQ(41, rp_calltree_frame(tree, ids[4])->line);
    EXPECT_TRUE(rp_calltree_frame(tree, ids[6])->inlined);
    EXPECT_TRUE(!rp_calltree_frame(tree, ids[3])->inlined);
    EXPECT_INT_EQ(RP_FRAME_ROOT, rp_calltree_intern(tree, &no_function));
    /* The entry's address is not what the frame is: another build, where
     * the function moved, names the same function (diff, merge). The
     * first address known is kept. */
    {
        struct rp_frame moved = {"burn", "server", "server.c", 40, false, 0x1139};
        struct rp_frame moved_again = {"burn", "server", "server.c", 40, false, 0x2240};

        EXPECT_INT_EQ(ids[3], rp_calltree_intern(tree, &moved));
        EXPECT_INT_EQ(ids[3], rp_calltree_intern(tree, &moved_again));
        EXPECT_INT_EQ(0x1139, rp_calltree_frame(tree, ids[3])->address);
    }
    rp_calltree_free(tree);
}

UNIT_TEST(many_frames_survive_the_table_growing)
{
    struct rp_calltree *tree = rp_calltree_new();
    char name[32];

    for (int i = 0; i < 5000; i++) {
        snprintf(name, sizeof name, "function_%d", i);
        EXPECT_INT_EQ(i, intern_function(tree, name));
    }
    for (int i = 0; i < 5000; i += 7) {
        snprintf(name, sizeof name, "function_%d", i);
        EXPECT_INT_EQ(i, intern_function(tree, name));
        EXPECT_STR_EQ(name, rp_calltree_frame(tree, (uint32_t)i)->function);
    }
    rp_calltree_free(tree);
}

UNIT_TEST(lasting_frames_are_kept_uncopied_and_interned_by_contents)
{
    struct rp_calltree *tree = rp_calltree_new();
    static struct rp_frame frames[3000];
    static char names[3000][32];

    for (int i = 0; i < 3000; i++) {
        /* Every third frame repeats the contents of the one before. */
        snprintf(names[i], sizeof names[i], "function_%d", i - (i % 3 == 2));
        frames[i] = (struct rp_frame){names[i], "server", "server.c", 10, false, 0};
    }
    for (int round = 0; round < 2; round++) {
        uint32_t next = 0;
        for (int i = 0; i < 3000; i++) {
            uint32_t id = rp_calltree_intern_lasting(tree, &frames[i]);
            uint32_t expected = i % 3 == 2 ? next - 1 : next++;
            EXPECT_INT_EQ(expected, id);
        }
    }
    /* Not copied: the tree points at the caller's strings. */
    EXPECT_TRUE(rp_calltree_frame(tree, 0)->function == names[0]);
    /* Copied and lasting interning of equal contents agree. */
    struct rp_frame same = {"function_0", "server", "server.c", 10, false, 0};
    EXPECT_INT_EQ(0, rp_calltree_intern(tree, &same));
    struct rp_frame other = {"function_0", "server", "server.c", 11, false, 0};
    uint32_t copied = rp_calltree_intern(tree, &other);
    EXPECT_INT_EQ(copied, rp_calltree_intern_lasting(tree, &other));
    EXPECT_TRUE(rp_calltree_frame(tree, copied)->function != other.function);
    rp_calltree_free(tree);
}

/* Adds stacks of width functions under "main", a timeline point each,
 * with copied and lasting frames; checks what a fresh tree would hold. */
static void build_and_check(struct rp_calltree *tree, int width)
{
    static const struct rp_frame lasting = {"main", "server", "server.c", 1, false, 0};
    uint32_t stack[2] = {rp_calltree_intern_lasting(tree, &lasting), 0};
    char name[32];
    size_t points;

    EXPECT_INT_EQ(0, stack[0]);
    for (int i = 0; i < width; i++) {
        snprintf(name, sizeof name, "leaf_%d", i);
        stack[1] = intern_function(tree, name);
        EXPECT_INT_EQ(i + 1, stack[1]);
        EXPECT_INT_EQ(0, rp_calltree_add_sample(tree, stack, 2, 1, 1,
                                                (uint64_t)i * 1000));
    }
    EXPECT_INT_EQ(width, rp_calltree_root(tree)->total);
    EXPECT_INT_EQ(width, child_count(node_at(tree, stack, 1)));
    EXPECT_INT_EQ(1, node_at(tree, stack, 2)->self);
    rp_calltree_timeline(tree, &points);
    EXPECT_INT_EQ(width, points);
}

UNIT_TEST(a_cleared_tree_builds_as_a_fresh_one)
{
    struct rp_calltree *tree = rp_calltree_new();
    size_t points;

    /* Small (kept memory), big (freed memory), small again. */
    for (int round = 0; round < 3; round++) {
        build_and_check(tree, round == 1 ? 3000 : 40);
        rp_calltree_clear(tree);
        EXPECT_INT_EQ(0, rp_calltree_root(tree)->total);
        EXPECT_TRUE(rp_calltree_root(tree)->first_child == NULL);
        EXPECT_TRUE(rp_calltree_frame(tree, 0) == NULL);
        rp_calltree_timeline(tree, &points);
        EXPECT_INT_EQ(0, points);
    }
    rp_calltree_free(tree);
}

UNIT_TEST(wide_tree_keeps_first_seen_order)
{
    enum { WIDTH = 20000 };
    struct rp_calltree *tree = rp_calltree_new();
    uint32_t *ids = malloc(WIDTH * sizeof *ids);
    char name[32];
    const struct rp_calltree_node *child;
    size_t i = 0;

    for (size_t n = 0; n < WIDTH; n++) {
        snprintf(name, sizeof name, "handler_%zu", n);
        ids[n] = intern_function(tree, name);
        EXPECT_INT_EQ(0, rp_calltree_add_stack(tree, &ids[n], 1, 1));
    }
    for (size_t n = 0; n < WIDTH; n += 2)
        rp_calltree_add_stack(tree, &ids[n], 1, 1);
    EXPECT_INT_EQ(WIDTH + WIDTH / 2, rp_calltree_root(tree)->total);
    for (child = rp_calltree_root(tree)->first_child; child;
         child = child->next_sibling, i++) {
        if (child->frame != ids[i] || child->total != (i % 2 ? 1u : 2u)) {
            UNIT_FAIL_AT("child %zu: frame %u, total %" PRIu64, i,
                         child->frame, child->total);
            break;
        }
    }
    EXPECT_INT_EQ(WIDTH, i);
    free(ids);
    rp_calltree_free(tree);
}

UNIT_TEST(sort_puts_heaviest_first_then_orders_by_frame)
{
    struct rp_calltree *tree = rp_calltree_new();
    struct rp_frame zeta = {"zeta", NULL, NULL, 0, false, 0};
    struct rp_frame alpha_b = {"alpha", "b.so", NULL, 0, false, 0};
    struct rp_frame alpha_a = {"alpha", "a.so", NULL, 0, false, 0};
    struct rp_frame heavy = {"heavy", NULL, NULL, 0, false, 0};
    struct rp_frame light = {"light", NULL, NULL, 0, false, 0};
    uint32_t frames[] = {
        rp_calltree_intern(tree, &zeta), rp_calltree_intern(tree, &alpha_b),
        rp_calltree_intern(tree, &alpha_a), rp_calltree_intern(tree, &heavy),
    };
    uint32_t nested[] = {frames[3], rp_calltree_intern(tree, &light)};
    const char *expected_objects[] = {NULL, "a.so", "b.so", NULL};
    const char *expected_functions[] = {"heavy", "alpha", "alpha", "zeta"};
    const struct rp_calltree_node *child;
    int i = 0;

    for (int n = 0; n < 3; n++)
        rp_calltree_add_stack(tree, &frames[n], 1, 2);
    rp_calltree_add_stack(tree, nested, 2, 1);
    rp_calltree_add_stack(tree, nested, 1, 5);
    rp_calltree_add_stack(tree, nested, 2, 1); /* a later child of heavy */
    rp_calltree_sort(tree);
    for (child = rp_calltree_root(tree)->first_child; child && i < 4;
         child = child->next_sibling, i++) {
        const struct rp_frame *frame = rp_calltree_frame(tree, child->frame);

        EXPECT_STR_EQ(expected_functions[i], frame->function);
        EXPECT_TRUE(expected_objects[i] == NULL
                        ? frame->object == NULL
                        : frame->object && !strcmp(expected_objects[i],
                                                   frame->object));
    }
    EXPECT_INT_EQ(4, i);
    EXPECT_TRUE(child == NULL);
    /* Sorting keeps the tree extendable: new children still append. */
    {
        struct rp_frame late = {"late", NULL, NULL, 0, false, 0};
        uint32_t late_id = rp_calltree_intern(tree, &late);
        const struct rp_calltree_node *last;

        EXPECT_INT_EQ(0, rp_calltree_add_stack(tree, &late_id, 1, 1));
        for (last = rp_calltree_root(tree)->first_child; last->next_sibling;)
            last = last->next_sibling;
        EXPECT_INT_EQ(late_id, last->frame);
    }
    rp_calltree_free(tree);
}

UNIT_TEST(root_total_is_the_sum_of_weights)
{
    struct rp_calltree *tree = rp_calltree_new();
    uint32_t frames[8];
    uint64_t sum = 0;
    char name[16];

    for (int i = 0; i < 8; i++) {
        snprintf(name, sizeof name, "f%d", i % 3);
        frames[i] = intern_function(tree, name);
    }
    /* A fixed pseudo-random walk over depths and weights. */
    for (uint32_t n = 0, state = 1; n < 1000; n++) {
        state = state * 1103515245 + 12345;
        size_t depth = (state >> 16) % 9;
        uint64_t weight = (state >> 8) % 4;

        EXPECT_INT_EQ(0, rp_calltree_add_stack(tree, frames, depth, weight));
        sum += weight;
    }
    EXPECT_INT_EQ(sum, rp_calltree_root(tree)->total);
    rp_calltree_free(tree);
}

UNIT_TEST(unknown_frame_id_is_refused_and_changes_nothing)
{
    struct rp_calltree *tree = rp_calltree_new();
    uint32_t known = intern_function(tree, "known");
    uint32_t stack[] = {known, known + 1};

    EXPECT_INT_EQ(-1, rp_calltree_add_stack(tree, stack, 2, 1));
    EXPECT_INT_EQ(0, rp_calltree_root(tree)->total);
    EXPECT_TRUE(rp_calltree_root(tree)->first_child == NULL);
    EXPECT_INT_EQ(-1, rp_calltree_add_stack(tree, &(uint32_t){RP_FRAME_ROOT},
                                            1, 1));
    rp_calltree_free(tree);
}

UNIT_TEST(deep_stack_is_one_chain)
{
    enum { DEPTH = 5000 };
    struct rp_calltree *tree = rp_calltree_new();
    uint32_t *stack = malloc(DEPTH * sizeof *stack);
    const struct rp_calltree_node *node = rp_calltree_root(tree);
    size_t depth = 0;

    for (size_t i = 0; i < DEPTH; i++)
        stack[i] = intern_function(tree, i % 2 ? "odd" : "even");
    EXPECT_INT_EQ(0, rp_calltree_add_stack(tree, stack, DEPTH, 1));
    EXPECT_INT_EQ(0, rp_calltree_add_stack(tree, stack, DEPTH, 1));
    while (node->first_child != NULL) {
        node = node->first_child;
        depth++;
        if (node->total != 2 || node->next_sibling != NULL)
            break;
    }
    EXPECT_INT_EQ(DEPTH, depth);
    EXPECT_INT_EQ(2, node->self);
    free(stack);
    rp_calltree_free(tree);
}

UNIT_TEST(merge_adds_every_sample_of_the_other_tree)
{
    struct rp_calltree *a = rp_calltree_new(), *b = rp_calltree_new();
    uint32_t a_path[] = {intern_function(a, "main"), intern_function(a, "burn")};
    uint32_t b_path[] = {intern_function(b, "main"), intern_function(b, "burn"),
                         intern_function(b, "deeper")};
    uint32_t b_other[] = {b_path[0], intern_function(b, "parse")};

    rp_calltree_add_stack(a, a_path, 2, 5);
    rp_calltree_add_stack(b, b_path, 2, 3);
    rp_calltree_add_stack(b, b_path, 3, 4);
    rp_calltree_add_stack(b, b_other, 2, 0);
    rp_calltree_add_stack(b, b_path, 0, 1);
    EXPECT_INT_EQ(0, rp_calltree_merge(a, b));
    EXPECT_INT_EQ(13, rp_calltree_root(a)->total);
    EXPECT_INT_EQ(1, rp_calltree_root(a)->self);
    EXPECT_INT_EQ(12, node_at(a, a_path, 2)->total);
    EXPECT_INT_EQ(8, node_at(a, a_path, 2)->self);
    {
        uint32_t deeper[] = {a_path[0], a_path[1],
                             intern_function(a, "deeper")};
        uint32_t parse[] = {a_path[0], intern_function(a, "parse")};

        EXPECT_INT_EQ(4, node_at(a, deeper, 3)->self);
        /* A node without samples comes over too, as JSON would keep it. */
        EXPECT_TRUE(node_at(a, parse, 2) != NULL);
    }
    rp_calltree_free(a);
    rp_calltree_free(b);
}

/* A sum knows what ran only if each of its parts does: a report that did
 * not record it would otherwise count as waiting. */
UNIT_TEST(merge_knows_cpu_counts_only_when_every_part_does)
{
    struct rp_calltree *sum = rp_calltree_new(), *ran = rp_calltree_new(),
                       *unknown = rp_calltree_new();
    uint32_t ran_path[] = {intern_function(ran, "burn")};
    uint32_t unknown_path[] = {intern_function(unknown, "burn")};

    rp_calltree_add_stack_cpu(ran, ran_path, 1, 4, 4);
    rp_calltree_add_stack(unknown, unknown_path, 1, 4);
    EXPECT_INT_EQ(0, rp_calltree_merge(sum, ran));
    EXPECT_TRUE(rp_calltree_cpu_known(sum));
    EXPECT_INT_EQ(0, rp_calltree_merge(sum, ran));
    EXPECT_TRUE(rp_calltree_cpu_known(sum));
    EXPECT_INT_EQ(0, rp_calltree_merge(sum, unknown));
    EXPECT_TRUE(!rp_calltree_cpu_known(sum));
    EXPECT_INT_EQ(0, rp_calltree_merge(sum, ran));
    EXPECT_TRUE(!rp_calltree_cpu_known(sum));
    EXPECT_INT_EQ(16, rp_calltree_root(sum)->total);
    rp_calltree_free(sum);
    rp_calltree_free(ran);
    rp_calltree_free(unknown);
}

UNIT_TEST(timeline_keeps_time_order_and_its_bound)
{
    struct rp_calltree *tree = rp_calltree_new();
    uint32_t burn = intern_function(tree, "burn");
    uint32_t wait = intern_function(tree, "wait");
    const struct rp_timeline_point *points;
    uint64_t weights = 0, cpu_weights = 0;
    size_t count;

    /* Two threads' samples, drained one ring after the other. */
    rp_calltree_add_sample(tree, &burn, 1, 1, 1, 3000);
    rp_calltree_add_sample(tree, &burn, 1, 1, 1, 5000);
    rp_calltree_add_sample(tree, &wait, 1, 4, 1, 4000);
    rp_calltree_add_sample(tree, &wait, 1, 1, 0, 1000);
    points = rp_calltree_timeline(tree, &count);
    EXPECT_INT_EQ(4, count);
    EXPECT_INT_EQ(1000, points[0].time_ns);
    EXPECT_INT_EQ(4000, points[2].time_ns);
    EXPECT_INT_EQ(4, points[2].weight);
    EXPECT_INT_EQ(1, points[2].cpu_weight);
    EXPECT_INT_EQ(0, points[0].cpu_weight);
    EXPECT_TRUE(points[2].leaf == node_at(tree, &wait, 1));
    rp_calltree_timeline_rebase(tree, 2000);
    points = rp_calltree_timeline(tree, &count);
    EXPECT_INT_EQ(0, points[0].time_ns);
    EXPECT_INT_EQ(1000, points[1].time_ns);
    rp_calltree_free(tree);

    /* 25 000 samples, the last third of them in wait: no more than the
     * bound, every sample's weight kept, in order, evenly spread. */
    tree = rp_calltree_new();
    burn = intern_function(tree, "burn");
    wait = intern_function(tree, "wait");
    for (uint64_t i = 0; i < 25000; i++)
        rp_calltree_add_sample(tree, i < 16667 ? &burn : &wait, 1, 1, i < 16667,
                               i * 1000000);
    points = rp_calltree_timeline(tree, &count);
    EXPECT_TRUE(count <= RP_TIMELINE_MAX && count >= RP_TIMELINE_MAX / 2);
    for (size_t i = 0; i < count; i++) {
        weights += points[i].weight;
        cpu_weights += points[i].cpu_weight;
        if (i > 0 && points[i].time_ns < points[i - 1].time_ns)
            UNIT_FAIL_AT("point %zu goes back in time", i);
        if (points[i].weight > 4)
            UNIT_FAIL_AT("point %zu has weight %u", i, points[i].weight);
    }
    EXPECT_INT_EQ(25000, weights);
    EXPECT_INT_EQ(16667, cpu_weights); /* merged points keep their CPU part */
    EXPECT_TRUE(points[count - 1].leaf == node_at(tree, &wait, 1));
    EXPECT_TRUE(points[0].leaf == node_at(tree, &burn, 1));
    rp_calltree_free(tree);
}

int main(void)
{
    UNIT_RUN(empty_tree_is_a_root_without_samples);
    UNIT_RUN(totals_and_self_of_known_stacks);
    UNIT_RUN(depth_zero_counts_on_the_root);
    UNIT_RUN(same_function_under_two_parents_is_two_nodes);
    UNIT_RUN(recursion_makes_a_chain_of_the_same_frame);
    UNIT_RUN(interning_compares_every_field);
    UNIT_RUN(many_frames_survive_the_table_growing);
    UNIT_RUN(lasting_frames_are_kept_uncopied_and_interned_by_contents);
    UNIT_RUN(a_cleared_tree_builds_as_a_fresh_one);
    UNIT_RUN(wide_tree_keeps_first_seen_order);
    UNIT_RUN(sort_puts_heaviest_first_then_orders_by_frame);
    UNIT_RUN(root_total_is_the_sum_of_weights);
    UNIT_RUN(unknown_frame_id_is_refused_and_changes_nothing);
    UNIT_RUN(deep_stack_is_one_chain);
    UNIT_RUN(merge_adds_every_sample_of_the_other_tree);
    UNIT_RUN(merge_knows_cpu_counts_only_when_every_part_does);
    UNIT_RUN(timeline_keeps_time_order_and_its_bound);
    return unit_finish();
}
