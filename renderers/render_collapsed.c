/*
 * The collapsed ("folded") rendering that flamegraph.pl, speedscope,
 * inferno and most flame graph tools read: one line per distinct stack,
 * its frames root first and separated by ';', then a space and the number
 * of samples that ended there.
 *
 *   __clone3;start_thread;connection_thread;route_mix;burn_alpha 208
 *
 * Frames are function names only, as those tools expect, whole (the
 * views' shortened names would make different functions one frame). A
 * name cannot hold the separator or a line break, so ';' becomes ':' and
 * control characters and bytes that are not UTF-8 become '?'. A call the
 * compiler inlined ends in "_[i]", flamegraph.pl's mark of an inlined
 * frame. Samples that ended at the root (no stack at all) are written as
 * the frame "[request]".
 */
#include <inttypes.h>
#include <string.h>

#include "internal.h"
#include "report.h"

/* Appends a frame's function name as one collapsed frame. */
static void collapsed_put_frame(struct rp_buffer *out, const struct rp_frame *frame)
{
    const char *function = frame->function;

    for (const char *semicolon; (semicolon = strchr(function, ';'));
         function = semicolon + 1) {
        rp_buffer_put_printable(out, function, (size_t)(semicolon - function),
                                "?");
        rp_buffer_puts(out, ":");
    }
    rp_buffer_put_printable(out, function, strlen(function), "?");
    if (frame->inlined)
        rp_buffer_puts(out, RP_INLINED_COLLAPSED_MARK);
}

/*
 * Appends the lines of node's subtree; stack holds the frames of the path
 * to node's parent. The recursion is as deep as the tree, which the
 * unwinder's frame limit (or the JSON reader's nesting limit) bounds.
 */
static void collapsed_put_node(struct rp_buffer *out, struct rp_buffer *stack,
                               const struct rp_calltree *tree,
                               const struct rp_calltree_node *node)
{
    size_t stack_length = stack->length;

    if (stack_length > 0)
        rp_buffer_puts(stack, ";");
    collapsed_put_frame(stack, rp_calltree_frame(tree, node->frame));
    if (node->self > 0 && stack->data != NULL)
        rp_buffer_printf(out, "%s %" PRIu64 "\n", stack->data, node->self);
    for (node = node->first_child; node != NULL; node = node->next_sibling)
        collapsed_put_node(out, stack, tree, node);
    rp_buffer_truncate(stack, stack_length);
}

int rp_render_collapsed(const struct rp_report *report, struct rp_buffer *out)
{
    const struct rp_calltree_node *root = rp_calltree_root(report->tree);
    struct rp_buffer stack;

    rp_buffer_init(&stack);
    if (root->self > 0)
        rp_buffer_printf(out, "[request] %" PRIu64 "\n", root->self);
    for (const struct rp_calltree_node *child = root->first_child; child;
         child = child->next_sibling)
        collapsed_put_node(out, &stack, report->tree, child);
    if (stack.failed)
        out->failed = true;
    rp_buffer_free(&stack);
    return out->failed ? -1 : 0;
}
