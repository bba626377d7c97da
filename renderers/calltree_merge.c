/*
 * Merging one call tree into another, for reqprof merge: the sum of many
 * requests' trees. The tool's alone, so not linked into the preloaded
 * library (Makefile, TOOL_RENDERER_OBJECTS); it goes through the tree's
 * public functions only.
 */
#include <stdint.h>

#include "calltree.h"
#include "heap.h"

/* Adds from's subtree under node (tree's node for the same path). */
static int merge_subtree(struct rp_calltree *tree, uint32_t **path,
                         size_t *path_capacity, size_t depth,
                         const struct rp_calltree *from,
                         const struct rp_calltree_node *node)
{
    if (depth > 0) {
        uint32_t id =
            rp_calltree_intern(tree, rp_calltree_frame(from, node->frame));

        if (id == RP_FRAME_ROOT)
            return -1;
        if (depth > *path_capacity) {
            size_t capacity = *path_capacity ? *path_capacity * 2 : 64;
            uint32_t *grown = rp_heap_realloc(*path, capacity * sizeof *grown);

            if (grown == NULL)
                return -1;
            *path = grown;
            *path_capacity = capacity;
        }
        (*path)[depth - 1] = id;
    }
    /* Weight 0 still makes the node, as the source tree has it. A tree
     * that knows no CPU counts adds none (and the sum knows none:
     * rp_calltree_merge). */
    int added = rp_calltree_cpu_known(from)
                    ? rp_calltree_add_stack_cpu(tree, *path, depth, node->self, node->cpu_self)
                    : rp_calltree_add_stack(tree, *path, depth, node->self);
    if (added != 0)
        return -1;
    for (node = node->first_child; node != NULL; node = node->next_sibling) {
        if (merge_subtree(tree, path, path_capacity, depth + 1, from,
                          node) != 0)
            return -1;
    }
    return 0;
}

int rp_calltree_merge(struct rp_calltree *tree, const struct rp_calltree *from)
{
    uint32_t *path = NULL;
    size_t path_capacity = 0;
    size_t object_count;
    const struct rp_object *objects = rp_calltree_objects(from, &object_count);
    const struct rp_calltree_node *root = rp_calltree_root(tree);
    /* The sum knows what ran only if every part does: samples of a part
     * that did not record it would count as waiting. */
    bool knows_cpu = rp_calltree_cpu_known(from) &&
                     (rp_calltree_cpu_known(tree) ||
                      (root->total == 0 && root->first_child == NULL));
    int result = merge_subtree(tree, &path, &path_capacity, 0, from,
                               rp_calltree_root(from));

    if (!knows_cpu)
        rp_calltree_forget_cpu(tree);

    for (size_t i = 0; i < object_count && result == 0; i++)
        result = rp_calltree_add_object(tree, &objects[i]);

    rp_heap_free(path);
    return result;
}
