/*
 * The call tree of one request: the model every renderer walks.
 *
 * A tree is built from stacks (root first) of interned frames. Each node is
 * one function reached by one path from the root, with the samples that
 * passed through it (total) and the samples whose leaf it was (self). A
 * tree owns copies of its strings, so it outlives the JSON text it was
 * built from, except those of frames a caller promises outlive it
 * (rp_calltree_intern_lasting).
 */
#ifndef REQPROF_CALLTREE_H
#define REQPROF_CALLTREE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One function as a report shows it. Strings are NULL when unknown. */
struct rp_frame {
    const char *function; /* symbol, or "0x<address>" when unknown; never NULL */
    const char *object;   /* file name of the ELF object, e.g. "libc.so.6" */
    const char *file;     /* source file of the function's entry, or NULL */
    int line;             /* its line, or 0 when unknown */
    bool inlined;         /* the compiler inlined this call into the frame
                           * above: the function's code, in its caller's */
    uint64_t address;     /* its entry, as an address of its object (see
                           * struct rp_object); 0 when unknown. Not part
                           * of what makes two frames one: another build,
                           * where the function moved, still names the
                           * same function (diff, merge) */
};

/*
 * What a tree knows of an object (the executable or a shared library) its
 * frames name, for the tools that read the object again: pprof's -list
 * and -disasm, symbolization elsewhere by build ID. Addresses are the
 * object's own (ELF virtual addresses, as objdump and addr2line take
 * them): the same in every process that loads it, wherever it is loaded.
 */
struct rp_object {
    const char *name;     /* as the frames' object: "libc.so.6" */
    const char *build_id; /* its NT_GNU_BUILD_ID note, lowercase hex, or
                           * NULL when it has none */
    uint64_t text_start;  /* its executable segment: first address, */
    uint64_t text_end;    /* the address after its end, */
    uint64_t text_offset; /* and where in the file it begins */
};

/* Frame id of the synthetic root node, which stands for the request. */
#define RP_FRAME_ROOT UINT32_MAX

/*
 * One node. Children are a singly linked list in the order they were first
 * added, heaviest first once sorted.
 */
struct rp_calltree_node {
    uint32_t frame;                       /* id from rp_calltree_intern */
    uint64_t total;                       /* samples through this node */
    uint64_t self;                        /* samples that ended here */
    uint64_t cpu_total;                   /* of total, those taken while the
                                           * thread ran (the rest waited:
                                           * blocked in a call, or ready
                                           * but not given the CPU) */
    uint64_t cpu_self;                    /* of self, those on the CPU */
    struct rp_calltree_node *parent;      /* NULL for the root */
    struct rp_calltree_node *first_child; /* NULL for a leaf */
    struct rp_calltree_node *next_sibling;
};

struct rp_calltree;

/* Returns an empty tree (root only), or NULL when out of memory. */
struct rp_calltree *rp_calltree_new(void);

/* Frees the tree, its nodes and its frames. NULL is allowed. */
void rp_calltree_free(struct rp_calltree *tree);

/*
 * Empties the tree (the root alone, no frames, objects or timeline) for the next
 * request, keeping the memory a tree of the usual size takes (its first
 * node chunk, tables of up to a few hundred slots), so that the writer
 * builds the next one without allocating; a big tree's extra is freed.
 */
void rp_calltree_clear(struct rp_calltree *tree);

/*
 * Returns the id of a frame equal to *frame (same function, object, file,
 * line and inlined mark; NULL equals only NULL), adding a copy if the tree
 * has none yet; RP_FRAME_ROOT when out of memory or frame->function is
 * NULL. The tree's frame keeps the first address known of it.
 */
uint32_t rp_calltree_intern(struct rp_calltree *tree,
                            const struct rp_frame *frame);

/*
 * The id of the tree's frame equal to *frame, or RP_FRAME_ROOT if the tree
 * has none: rp_calltree_intern without adding, to match the nodes of two
 * trees (reqprof diff).
 */
uint32_t rp_calltree_find(const struct rp_calltree *tree,
                          const struct rp_frame *frame);

/*
 * rp_calltree_intern for a frame that, strings included, stays unchanged
 * for longer than the tree lives (the symbolizer's frames do): it is found
 * by its address before its contents, and the tree keeps it uncopied. Two
 * such frames with equal contents still get one id.
 */
uint32_t rp_calltree_intern_lasting(struct rp_calltree *tree,
                                    const struct rp_frame *frame);

/*
 * Adds one sample of the given weight whose stack is frames[0] (outermost)
 * to frames[depth - 1] (leaf). depth 0 counts the sample on the root's self.
 * Nodes on the path are created even for weight 0. Returns 0, or -1 when
 * out of memory or an id is not one of this tree's frames (the tree is then
 * unchanged).
 */
int rp_calltree_add_stack(struct rp_calltree *tree, const uint32_t *frames,
                          size_t depth, uint64_t weight);

/*
 * rp_calltree_add_stack for a sample of which cpu_weight (at most weight)
 * intervals were on the CPU. Adding through it makes the tree's CPU
 * counts known (rp_calltree_cpu_known).
 */
int rp_calltree_add_stack_cpu(struct rp_calltree *tree, const uint32_t *frames,
                              size_t depth, uint64_t weight, uint64_t cpu_weight);

/*
 * Whether the nodes' cpu_total and cpu_self say anything: a tree built
 * with rp_calltree_add_stack alone (a report of version 5 or older, which
 * did not record it) has them at 0, which means unknown, not waiting.
 */
bool rp_calltree_cpu_known(const struct rp_calltree *tree);

/* Marks the tree's CPU counts known, for a tree with no sample yet that
 * is read from a report that records them. */
void rp_calltree_set_cpu_known(struct rp_calltree *tree);

/* Marks them unknown: a sum with a tree that did not record them
 * (rp_calltree_merge). */
void rp_calltree_forget_cpu(struct rp_calltree *tree);

/* Whether most of node's samples waited rather than ran: the views mark
 * such a node. Only meaningful when rp_calltree_cpu_known. */
static inline bool rp_node_mostly_waited(const struct rp_calltree_node *node)
{
    return node->cpu_total * 2 < node->total;
}

/*
 * Adds what is known of an object, unless the tree knows one of that name
 * already, copying its strings. Returns 0, or -1 when out of memory.
 */
int rp_calltree_add_object(struct rp_calltree *tree,
                           const struct rp_object *object);

/* rp_calltree_add_object for an object that, strings included, outlives
 * the tree (the symbolizer's do): the tree keeps it uncopied. */
int rp_calltree_add_object_lasting(struct rp_calltree *tree,
                                   const struct rp_object *object);

/* The object named name, or NULL if the tree knows none. */
const struct rp_object *rp_calltree_object(const struct rp_calltree *tree,
                                           const char *name);

/* The objects, in the order added, and their number in *count. */
const struct rp_object *rp_calltree_objects(const struct rp_calltree *tree,
                                            size_t *count);

/* The root node; its total is the weight of every sample added. */
const struct rp_calltree_node *rp_calltree_root(const struct rp_calltree *tree);

/* The nodes of node's subtree, itself included: what a view that leaves
 * it out counts. */
uint64_t rp_calltree_subtree_size(const struct rp_calltree_node *node);

/*
 * The frame behind an id returned by rp_calltree_intern. RP_FRAME_ROOT
 * gives the root's frame, whose function is "[request]" and location
 * unknown; any other id the tree does not hold gives NULL.
 */
const struct rp_frame *rp_calltree_frame(const struct rp_calltree *tree,
                                         uint32_t id);

/* The child of parent (a node of this tree) for frame, or NULL if none. */
const struct rp_calltree_node *
rp_calltree_child(const struct rp_calltree *tree,
                  const struct rp_calltree_node *parent, uint32_t frame);

/*
 * Orders every node's children by total, heaviest first; ties by function,
 * object, file, line and inlined mark, so the order depends only on the
 * tree's contents.
 */
void rp_calltree_sort(struct rp_calltree *tree);

/*
 * Adds every sample of from to tree, as if each stack had been added to
 * tree too, and the objects tree does not know yet (the timeline is not
 * carried over). Returns 0, or -1 when out of memory, with tree holding
 * part of from.
 */
int rp_calltree_merge(struct rp_calltree *tree,
                      const struct rp_calltree *from);

/*
 * The timeline: when each sample was taken, and where its stack ended, so
 * a view can show what the request did in order (the tree only says how
 * much). It is optional: a tree built with rp_calltree_add_stack alone has
 * none. Points are kept in order of time.
 *
 * It is bounded: past RP_TIMELINE_MAX points, neighbouring points are
 * merged in pairs, and from then on every two (then four...) samples make
 * one point, so a long request keeps an even, coarser timeline. A merged
 * point takes the later time, the sum of the weights and the leaf of the
 * heavier one.
 */
#define RP_TIMELINE_MAX 10000

struct rp_timeline_point {
    uint64_t time_ns; /* when: see rp_calltree_timeline_rebase */
    const struct rp_calltree_node *leaf; /* the node the stack ended in */
    uint32_t weight;  /* samples (intervals) it stands for, at least 1 */
    uint32_t cpu_weight; /* of weight, those on the CPU */
    uint32_t merged;  /* samples added into it, for the bound above */
};

/*
 * rp_calltree_add_stack, and a point on the timeline for the sample at
 * time_ns (any clock; rp_calltree_timeline_rebase makes it relative to the
 * request). The writer calls this instead of rp_calltree_add_stack for
 * each stack sample. Returns 0, or -1 when the stack could not be added
 * (as rp_calltree_add_stack). A point that finds no memory is left out:
 * the tree, which every view needs, still has the sample.
 */
int rp_calltree_add_sample(struct rp_calltree *tree, const uint32_t *frames,
                           size_t depth, uint64_t weight, uint64_t cpu_weight,
                           uint64_t time_ns);

/*
 * Adds a timeline point for weight samples (1 to UINT32_MAX), cpu_weight
 * of them on the CPU, that ended in leaf, a node of this tree, at time_ns.
 * Returns 0, or -1 when out of memory or weight is 0.
 */
int rp_calltree_timeline_add(struct rp_calltree *tree,
                             const struct rp_calltree_node *leaf,
                             uint64_t time_ns, uint64_t weight, uint64_t cpu_weight);

/*
 * Makes every point's time relative to start_ns, the request's first
 * byte on the clock the points were taken with; earlier points get 0.
 * The writer calls it once, before the report is rendered.
 */
void rp_calltree_timeline_rebase(struct rp_calltree *tree, uint64_t start_ns);

/* The points, oldest first, and their number in *count (0: no timeline). */
const struct rp_timeline_point *
rp_calltree_timeline(const struct rp_calltree *tree, size_t *count);

/*
 * Whether frame comes from one of the system's shared libraries (libc,
 * libstdc++, the dynamic loader, the vDSO...) rather than from program
 * (the report's program path) or its own modules; see library.c. Views
 * fold such frames; the symbolizer reads no source lines for them.
 */
bool rp_frame_is_library(const struct rp_frame *frame, const char *program);

/*
 * The frame of work shared between requests (renderers/shared.c): samples
 * of a stretch in which a thread had several requests open, split evenly
 * between them and put under a child of each one's root whose function
 * is "[shared: N requests]" and whose object, file and line are unknown.
 */
#define RP_SHARED_FRAME_NAME_MAX 40 /* "[shared: 18446744073709551615 requests]" */

/* Writes the shared frame's function name for requests (2 or more)
 * requests into out (RP_SHARED_FRAME_NAME_MAX bytes); returns out. */
const char *rp_shared_frame_name(char *out, uint64_t requests);

/* Whether frame is a shared frame, as rp_shared_frame_name names it. */
bool rp_frame_is_shared(const struct rp_frame *frame);

#endif
