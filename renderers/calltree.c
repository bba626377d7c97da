/*
 * The call tree: interned frames, and nodes found by (parent, frame).
 *
 * Two open-addressing hash tables keep adding a stack linear in its depth:
 * one maps a frame's contents to its id, the other maps (parent node, frame
 * id) to the child node, so a node with thousands of children costs no more
 * to extend than a node with one. Nodes live in chunks that never move, so
 * the pointers in the public node structs stay valid as the tree grows.
 *
 * rp_calltree_add_stack reserves room for a whole stack before it changes
 * anything, which is how a failed allocation leaves the tree unchanged.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "calltree.h"
#include "hash.h"
#include "heap.h"

/* Nodes in a tree's first chunk, and the most in one chunk: most requests
 * have tens of nodes, a busy one a few thousand; chunks double between. */
#define NODE_CHUNK_FIRST 64
#define NODE_CHUNK_MAX 1024
/* Slots in a hash table when it is first needed; always a power of two. */
#define HASH_INITIAL_SIZE 64
/* Marks an empty slot of the frame table (never a valid frame id). */
#define FRAME_SLOT_EMPTY RP_FRAME_ROOT
/* rp_calltree_clear keeps tables (and the timeline) up to this many slots:
 * what tens of nodes and frames take, and a few hundred samples. */
#define CLEAR_KEEP_SLOTS 256

/* A node, and what only the tree needs to know about it. */
struct calltree_node {
    struct rp_calltree_node public; /* first, so the pointers convert */
    /* The last child, so that children keep the order they came in. */
    struct rp_calltree_node *last_child;
};

/* A lasting frame's address and its id; a NULL frame marks an empty slot. */
struct lasting_slot {
    const struct rp_frame *frame;
    uint32_t id;
};

/* A block of nodes; a tree frees its nodes block by block. */
struct node_chunk {
    struct node_chunk *next; /* the chunk filled before this one */
    size_t used;             /* nodes handed out from nodes[] */
    size_t capacity;         /* nodes[] has room for this many */
    struct calltree_node nodes[];
};

struct rp_calltree {
    struct calltree_node root;

    struct rp_frame *frames; /* by id */
    bool *frame_copied;      /* by id: the tree owns the frame's strings */
    uint32_t frame_count;
    uint32_t frame_capacity;
    uint32_t *frame_slots;  /* ids by hash of contents, or FRAME_SLOT_EMPTY */
    size_t frame_slot_count; /* power of two */

    /* Frames interned by rp_calltree_intern_lasting, by their address. */
    struct lasting_slot *lasting_slots;
    size_t lasting_count;
    size_t lasting_slot_count; /* power of two */

    struct calltree_node **child_slots; /* nodes by (parent, frame), or NULL */
    size_t child_slot_count;            /* power of two */
    size_t node_count;                  /* nodes in child_slots: all but root */
    struct node_chunk *chunks;          /* newest first; nodes come from it */

    struct rp_object *objects; /* in the order added */
    bool *object_copied;       /* by index: the tree owns its strings */
    size_t object_count;
    size_t object_capacity;

    struct rp_timeline_point *points; /* the timeline, oldest first */
    size_t point_count;
    size_t point_capacity;  /* grows up to RP_TIMELINE_MAX */
    uint32_t point_stride;  /* samples a point gathers before the next */
    bool cpu_known;         /* see rp_calltree_cpu_known */
};

/* What rp_calltree_frame returns for the root. */
static const struct rp_frame root_frame = {.function = "[request]"};

/* FNV-1a over a string; NULL hashes apart from every string, "" included. */
static uint64_t hash_string(uint64_t hash, const char *text)
{
    if (text == NULL)
        return rp_hash_mix(hash ^ 0x6e756c6c);
    for (; *text; text++) {
        hash ^= (unsigned char)*text;
        hash *= UINT64_C(0x100000001b3);
    }
    return rp_hash_mix(hash);
}

static uint64_t hash_frame(const struct rp_frame *frame)
{
    uint64_t hash = UINT64_C(0xcbf29ce484222325);

    hash = hash_string(hash, frame->function);
    hash = hash_string(hash, frame->object);
    hash = hash_string(hash, frame->file);
    hash = rp_hash_mix(hash ^ (uint64_t)frame->inlined);
    return rp_hash_mix(hash ^ (uint64_t)(unsigned)frame->line);
}

static uint64_t hash_child(const struct rp_calltree_node *parent,
                           uint32_t frame)
{
    return rp_hash_mix(rp_hash_mix((uint64_t)(uintptr_t)parent) ^ frame);
}

/* strcmp for strings that may be NULL, which sorts first. */
static int compare_optional(const char *a, const char *b)
{
    if (a == NULL || b == NULL)
        return (a != NULL) - (b != NULL);
    return strcmp(a, b);
}

static int compare_frames(const struct rp_frame *a, const struct rp_frame *b)
{
    int order;

    if ((order = compare_optional(a->function, b->function)) != 0 ||
        (order = compare_optional(a->object, b->object)) != 0 ||
        (order = compare_optional(a->file, b->file)) != 0)
        return order;
    if (a->line != b->line)
        return (a->line > b->line) - (a->line < b->line);
    return (a->inlined > b->inlined) - (a->inlined < b->inlined);
}

/* A copy of text (NULL stays NULL); false when out of memory. */
static bool copy_optional(const char *text, const char **copy)
{
    *copy = NULL;
    if (text == NULL)
        return true;
    *copy = strdup(text);
    return *copy != NULL;
}

static void frame_free_strings(struct rp_frame *frame)
{
    rp_heap_free((char *)frame->function);
    rp_heap_free((char *)frame->object);
    rp_heap_free((char *)frame->file);
}

struct rp_calltree *rp_calltree_new(void)
{
    struct rp_calltree *tree = rp_heap_calloc(1, sizeof *tree);

    if (tree != NULL) {
        tree->root.public.frame = RP_FRAME_ROOT;
        tree->point_stride = 1;
    }
    return tree;
}

/* Frees the strings of the objects the tree copied, and forgets them all. */
static void objects_clear(struct rp_calltree *tree)
{
    for (size_t i = 0; i < tree->object_count; i++) {
        if (tree->object_copied[i]) {
            rp_heap_free((char *)tree->objects[i].name);
            rp_heap_free((char *)tree->objects[i].build_id);
        }
    }
    tree->object_count = 0;
}

void rp_calltree_free(struct rp_calltree *tree)
{
    if (tree == NULL)
        return;
    objects_clear(tree);
    rp_heap_free(tree->objects);
    rp_heap_free(tree->object_copied);
    for (uint32_t id = 0; id < tree->frame_count; id++)
        if (tree->frame_copied[id])
            frame_free_strings(&tree->frames[id]);
    rp_heap_free(tree->frames);
    rp_heap_free(tree->frame_copied);
    rp_heap_free(tree->frame_slots);
    rp_heap_free(tree->lasting_slots);
    rp_heap_free(tree->child_slots);
    rp_heap_free(tree->points);
    while (tree->chunks != NULL) {
        struct node_chunk *next = tree->chunks->next;
        rp_heap_free(tree->chunks);
        tree->chunks = next;
    }
    rp_heap_free(tree);
}

/* A hash table of *count slots kept by rp_calltree_clear, emptied (each
 * byte set to empty), or NULL (and *count 0) once freed for being big. */
static void *slots_clear(void *slots, size_t *count, size_t slot_size,
                         int empty)
{
    if (*count <= CLEAR_KEEP_SLOTS) {
        if (slots != NULL)
            memset(slots, empty, *count * slot_size);
        return slots;
    }
    rp_heap_free(slots);
    *count = 0;
    return NULL;
}

void rp_calltree_clear(struct rp_calltree *tree)
{
    objects_clear(tree);
    for (uint32_t id = 0; id < tree->frame_count; id++)
        if (tree->frame_copied[id])
            frame_free_strings(&tree->frames[id]);
    tree->frame_count = 0;
    if (tree->frame_capacity > CLEAR_KEEP_SLOTS) {
        rp_heap_free(tree->frames);
        rp_heap_free(tree->frame_copied);
        tree->frames = NULL;
        tree->frame_copied = NULL;
        tree->frame_capacity = 0;
    }
    tree->frame_slots = slots_clear(tree->frame_slots, &tree->frame_slot_count,
                                    sizeof *tree->frame_slots,
                                    0xff); /* FRAME_SLOT_EMPTY */
    tree->lasting_slots =
        slots_clear(tree->lasting_slots, &tree->lasting_slot_count,
                    sizeof *tree->lasting_slots, 0);
    tree->lasting_count = 0;
    tree->child_slots = slots_clear(tree->child_slots, &tree->child_slot_count,
                                    sizeof *tree->child_slots, 0);
    tree->node_count = 0;
    tree->cpu_known = false;
    /* The oldest chunk is the first and smallest: a usual tree fits. */
    while (tree->chunks != NULL && tree->chunks->next != NULL) {
        struct node_chunk *next = tree->chunks->next;

        rp_heap_free(tree->chunks);
        tree->chunks = next;
    }
    if (tree->chunks != NULL)
        tree->chunks->used = 0;
    if (tree->point_capacity > CLEAR_KEEP_SLOTS) {
        rp_heap_free(tree->points);
        tree->points = NULL;
        tree->point_capacity = 0;
    }
    tree->point_count = 0;
    tree->point_stride = 1;
    memset(&tree->root, 0, sizeof tree->root);
    tree->root.public.frame = RP_FRAME_ROOT;
}

/* The slot holding a frame equal to *frame, or the empty one it would take. */
static size_t frame_slot_find(const struct rp_calltree *tree,
                              const struct rp_frame *frame)
{
    size_t mask = tree->frame_slot_count - 1;
    size_t slot = hash_frame(frame) & mask;

    while (tree->frame_slots[slot] != FRAME_SLOT_EMPTY &&
           compare_frames(&tree->frames[tree->frame_slots[slot]], frame) != 0)
        slot = (slot + 1) & mask;
    return slot;
}

/* Makes room for one more frame in frames[] and frame_slots[]. */
static bool frames_reserve_one(struct rp_calltree *tree)
{
    if (tree->frame_count == tree->frame_capacity) {
        uint32_t capacity = tree->frame_capacity ? tree->frame_capacity * 2
                                                 : HASH_INITIAL_SIZE;
        struct rp_frame *frames;
        bool *copied;

        /* Doubling stops at 2^31 ids, below RP_FRAME_ROOT. */
        if (capacity <= tree->frame_capacity)
            return false;
        frames = rp_heap_realloc(tree->frames, capacity * sizeof *frames);
        if (frames == NULL)
            return false;
        tree->frames = frames;
        copied = rp_heap_realloc(tree->frame_copied, capacity * sizeof *copied);
        if (copied == NULL)
            return false;
        tree->frame_copied = copied;
        tree->frame_capacity = capacity;
    }
    /* Keep the table at most three quarters full. */
    if ((size_t)(tree->frame_count + 1) * 4 > tree->frame_slot_count * 3) {
        size_t count = tree->frame_slot_count ? tree->frame_slot_count * 2
                                              : HASH_INITIAL_SIZE;
        uint32_t *slots = rp_heap_malloc(count * sizeof *slots);

        if (slots == NULL)
            return false;
        memset(slots, 0xff, count * sizeof *slots); /* FRAME_SLOT_EMPTY */
        rp_heap_free(tree->frame_slots);
        tree->frame_slots = slots;
        tree->frame_slot_count = count;
        for (uint32_t id = 0; id < tree->frame_count; id++)
            slots[frame_slot_find(tree, &tree->frames[id])] = id;
    }
    return true;
}

/* rp_calltree_intern, copying the strings of a new frame or not. */
static uint32_t frame_intern(struct rp_calltree *tree,
                             const struct rp_frame *frame, bool copy)
{
    struct rp_frame *stored;
    size_t slot;

    if (frame->function == NULL)
        return RP_FRAME_ROOT;
    if (tree->frame_count > 0) {
        slot = frame_slot_find(tree, frame);
        uint32_t found = tree->frame_slots[slot];
        /* A report that knew the entry completes one that did not (a
         * version 4 report merged first): a copy of ours takes it. */
        if (found != FRAME_SLOT_EMPTY && tree->frame_copied[found] &&
            tree->frames[found].address == 0)
            tree->frames[found].address = frame->address;
        if (found != FRAME_SLOT_EMPTY)
            return found;
    }
    if (!frames_reserve_one(tree))
        return RP_FRAME_ROOT;
    stored = &tree->frames[tree->frame_count];
    if (!copy) {
        *stored = *frame;
    } else {
        stored->line = frame->line;
        stored->inlined = frame->inlined;
        stored->address = frame->address;
        if (!copy_optional(frame->function, &stored->function) ||
            !copy_optional(frame->object, &stored->object) ||
            !copy_optional(frame->file, &stored->file)) {
            frame_free_strings(stored);
            return RP_FRAME_ROOT;
        }
    }
    tree->frame_copied[tree->frame_count] = copy;
    tree->frame_slots[frame_slot_find(tree, frame)] = tree->frame_count;
    return tree->frame_count++;
}

uint32_t rp_calltree_intern(struct rp_calltree *tree,
                            const struct rp_frame *frame)
{
    return frame_intern(tree, frame, true);
}

uint32_t rp_calltree_find(const struct rp_calltree *tree,
                          const struct rp_frame *frame)
{
    if (tree->frame_count == 0 || frame->function == NULL)
        return RP_FRAME_ROOT;
    /* An empty slot holds FRAME_SLOT_EMPTY, which is RP_FRAME_ROOT. */
    return tree->frame_slots[frame_slot_find(tree, frame)];
}

/* The slot of the lasting frame at frame's address, or the empty one it
 * would take. */
static struct lasting_slot *lasting_slot_find(const struct rp_calltree *tree,
                                              const struct rp_frame *frame)
{
    size_t mask = tree->lasting_slot_count - 1;
    size_t slot = rp_hash_mix((uint64_t)(uintptr_t)frame) & mask;

    while (tree->lasting_slots[slot].frame != NULL &&
           tree->lasting_slots[slot].frame != frame)
        slot = (slot + 1) & mask;
    return &tree->lasting_slots[slot];
}

/* Makes room for one more lasting frame, at most three quarters full. */
static bool lasting_reserve_one(struct rp_calltree *tree)
{
    struct lasting_slot *old = tree->lasting_slots;
    size_t old_count = tree->lasting_slot_count;
    size_t count = old_count ? old_count * 2 : HASH_INITIAL_SIZE;
    struct lasting_slot *slots;

    if ((tree->lasting_count + 1) * 4 <= old_count * 3)
        return true;
    slots = rp_heap_calloc(count, sizeof *slots);
    if (slots == NULL)
        return false;
    tree->lasting_slots = slots;
    tree->lasting_slot_count = count;
    for (size_t i = 0; i < old_count; i++)
        if (old[i].frame != NULL)
            *lasting_slot_find(tree, old[i].frame) = old[i];
    rp_heap_free(old);
    return true;
}

uint32_t rp_calltree_intern_lasting(struct rp_calltree *tree,
                                    const struct rp_frame *frame)
{
    struct lasting_slot *slot;
    uint32_t id;

    if (tree->lasting_count > 0) {
        slot = lasting_slot_find(tree, frame);
        if (slot->frame != NULL)
            return slot->id;
    }
    if (!lasting_reserve_one(tree))
        return RP_FRAME_ROOT;
    id = frame_intern(tree, frame, false);
    if (id != RP_FRAME_ROOT) {
        *lasting_slot_find(tree, frame) = (struct lasting_slot){frame, id};
        tree->lasting_count++;
    }
    return id;
}

const struct rp_object *rp_calltree_object(const struct rp_calltree *tree,
                                           const char *name)
{
    for (size_t i = 0; i < tree->object_count; i++)
        if (strcmp(tree->objects[i].name, name) == 0)
            return &tree->objects[i];
    return NULL;
}

/* rp_calltree_add_object, copying the strings or not. A report names a
 * few dozen objects at most: a linear search does. */
static int object_add(struct rp_calltree *tree, const struct rp_object *object,
                      bool copy)
{
    struct rp_object *stored;

    if (rp_calltree_object(tree, object->name) != NULL)
        return 0;
    if (tree->object_count == tree->object_capacity) {
        size_t capacity = tree->object_capacity ? tree->object_capacity * 2 : 16;
        struct rp_object *objects =
            rp_heap_realloc(tree->objects, capacity * sizeof *objects);
        bool *copied = objects != NULL
                           ? rp_heap_realloc(tree->object_copied,
                                             capacity * sizeof *copied)
                           : NULL;

        if (objects != NULL)
            tree->objects = objects;
        if (copied == NULL)
            return -1;
        tree->object_copied = copied;
        tree->object_capacity = capacity;
    }
    stored = &tree->objects[tree->object_count];
    *stored = *object;
    if (copy && (!copy_optional(object->name, &stored->name) ||
                 !copy_optional(object->build_id, &stored->build_id))) {
        rp_heap_free((char *)stored->name);
        return -1;
    }
    tree->object_copied[tree->object_count++] = copy;
    return 0;
}

int rp_calltree_add_object(struct rp_calltree *tree,
                           const struct rp_object *object)
{
    return object_add(tree, object, true);
}

int rp_calltree_add_object_lasting(struct rp_calltree *tree,
                                   const struct rp_object *object)
{
    return object_add(tree, object, false);
}

const struct rp_object *rp_calltree_objects(const struct rp_calltree *tree,
                                            size_t *count)
{
    *count = tree->object_count;
    return tree->objects;
}

const struct rp_frame *rp_calltree_frame(const struct rp_calltree *tree,
                                         uint32_t id)
{
    if (id == RP_FRAME_ROOT)
        return &root_frame;
    return id < tree->frame_count ? &tree->frames[id] : NULL;
}

/* The slot of parent's child for frame, or the empty one it would take. */
static size_t child_slot_find(const struct rp_calltree *tree,
                              const struct rp_calltree_node *parent,
                              uint32_t frame)
{
    size_t mask = tree->child_slot_count - 1;
    size_t slot = hash_child(parent, frame) & mask;
    const struct calltree_node *node;

    while ((node = tree->child_slots[slot]) != NULL &&
           (node->public.parent != parent || node->public.frame != frame))
        slot = (slot + 1) & mask;
    return slot;
}

const struct rp_calltree_node *
rp_calltree_child(const struct rp_calltree *tree,
                  const struct rp_calltree_node *parent, uint32_t frame)
{
    const struct calltree_node *child;

    if (tree->node_count == 0)
        return NULL;
    child = tree->child_slots[child_slot_find(tree, parent, frame)];
    return child != NULL ? &child->public : NULL;
}

/* Makes room in child_slots for count more nodes, growing it if needed. */
static bool child_slots_reserve(struct rp_calltree *tree, size_t count)
{
    size_t needed = tree->node_count + count;
    size_t slot_count = tree->child_slot_count;
    struct calltree_node **old = tree->child_slots;
    size_t old_count = tree->child_slot_count;
    struct calltree_node **slots;

    /* Keep the table at most three quarters full. */
    if (needed <= slot_count / 4 * 3)
        return true;
    if (slot_count == 0)
        slot_count = HASH_INITIAL_SIZE;
    while (needed > slot_count / 4 * 3) {
        if (slot_count > SIZE_MAX / 2 / sizeof *slots)
            return false;
        slot_count *= 2;
    }
    slots = rp_heap_calloc(slot_count, sizeof *slots);
    if (slots == NULL)
        return false;
    tree->child_slots = slots;
    tree->child_slot_count = slot_count;
    for (size_t i = 0; i < old_count; i++) {
        if (old[i] != NULL)
            tree->child_slots[child_slot_find(tree, old[i]->public.parent,
                                              old[i]->public.frame)] = old[i];
    }
    rp_heap_free(old);
    return true;
}

/* Makes sure the newest chunk has count unused nodes. */
static bool nodes_reserve(struct rp_calltree *tree, size_t count)
{
    struct node_chunk *chunk = tree->chunks;
    size_t capacity = chunk == NULL ? NODE_CHUNK_FIRST
                      : chunk->capacity < NODE_CHUNK_MAX ? chunk->capacity * 2
                                                         : NODE_CHUNK_MAX;

    if (chunk != NULL && chunk->capacity - chunk->used >= count)
        return true;
    if (capacity < count)
        capacity = count;
    if (capacity > (SIZE_MAX - sizeof *chunk) / sizeof chunk->nodes[0])
        return false;
    chunk = rp_heap_malloc(sizeof *chunk + capacity * sizeof chunk->nodes[0]);
    if (chunk == NULL)
        return false;
    chunk->next = tree->chunks;
    chunk->used = 0;
    chunk->capacity = capacity;
    tree->chunks = chunk;
    return true;
}

/* The child of parent for frame, made (with zero counts) if it is new. */
static struct calltree_node *child_get(struct rp_calltree *tree,
                                       struct calltree_node *parent,
                                       uint32_t frame)
{
    size_t slot = child_slot_find(tree, &parent->public, frame);
    struct calltree_node *child = tree->child_slots[slot];

    if (child != NULL)
        return child;
    /* Reserved by the caller: neither of these can run out. */
    child = &tree->chunks->nodes[tree->chunks->used++];
    memset(child, 0, sizeof *child);
    child->public.frame = frame;
    child->public.parent = &parent->public;
    if (parent->last_child == NULL)
        parent->public.first_child = &child->public;
    else
        parent->last_child->next_sibling = &child->public;
    parent->last_child = &child->public;
    tree->child_slots[slot] = child;
    tree->node_count++;
    return child;
}

/* add_stack, returning the leaf node (NULL when it failed). */
static struct calltree_node *tree_add_stack(struct rp_calltree *tree,
                                            const uint32_t *frames, size_t depth,
                                            uint64_t weight, uint64_t cpu_weight)
{
    struct calltree_node *node = &tree->root;

    for (size_t i = 0; i < depth; i++) {
        if (frames[i] >= tree->frame_count)
            return NULL;
    }
    if (!child_slots_reserve(tree, depth) || !nodes_reserve(tree, depth))
        return NULL;
    if (cpu_weight > weight)
        cpu_weight = weight;
    node->public.total += weight;
    node->public.cpu_total += cpu_weight;
    for (size_t i = 0; i < depth; i++) {
        node = child_get(tree, node, frames[i]);
        node->public.total += weight;
        node->public.cpu_total += cpu_weight;
    }
    node->public.self += weight;
    node->public.cpu_self += cpu_weight;
    return node;
}

int rp_calltree_add_stack(struct rp_calltree *tree, const uint32_t *frames,
                          size_t depth, uint64_t weight)
{
    return tree_add_stack(tree, frames, depth, weight, 0) != NULL ? 0 : -1;
}

int rp_calltree_add_stack_cpu(struct rp_calltree *tree, const uint32_t *frames,
                              size_t depth, uint64_t weight, uint64_t cpu_weight)
{
    tree->cpu_known = true;
    return tree_add_stack(tree, frames, depth, weight, cpu_weight) != NULL ? 0 : -1;
}

bool rp_calltree_cpu_known(const struct rp_calltree *tree)
{
    return tree->cpu_known;
}

void rp_calltree_set_cpu_known(struct rp_calltree *tree)
{
    tree->cpu_known = true;
}

void rp_calltree_forget_cpu(struct rp_calltree *tree)
{
    tree->cpu_known = false;
}

int rp_calltree_add_sample(struct rp_calltree *tree, const uint32_t *frames,
                           size_t depth, uint64_t weight, uint64_t cpu_weight,
                           uint64_t time_ns)
{
    tree->cpu_known = true;
    struct calltree_node *leaf = tree_add_stack(tree, frames, depth, weight, cpu_weight);

    if (leaf == NULL)
        return -1;
    if (weight > 0)
        (void)rp_calltree_timeline_add(tree, &leaf->public, time_ns, weight, cpu_weight);
    return 0;
}

uint64_t rp_calltree_subtree_size(const struct rp_calltree_node *node)
{
    uint64_t size = 1;

    for (node = node->first_child; node; node = node->next_sibling)
        size += rp_calltree_subtree_size(node);
    return size;
}

const struct rp_calltree_node *rp_calltree_root(const struct rp_calltree *tree)
{
    return &tree->root.public;
}

/* Whether a goes before b among siblings: heavier first, then by frame. */
static bool node_goes_before(const struct rp_calltree *tree,
                             const struct rp_calltree_node *a,
                             const struct rp_calltree_node *b)
{
    if (a->total != b->total)
        return a->total > b->total;
    return compare_frames(&tree->frames[a->frame],
                          &tree->frames[b->frame]) <= 0;
}

/*
 * Merge sort of a sibling list: stable, O(n log n), and needs no memory, so
 * rp_calltree_sort cannot fail. Recursion depth is log2 of the list length.
 */
static struct rp_calltree_node *sort_siblings(const struct rp_calltree *tree,
                                              struct rp_calltree_node *list)
{
    struct rp_calltree_node *slow = list, *fast, *second, *merged = NULL;
    struct rp_calltree_node **tail = &merged;

    if (list == NULL || list->next_sibling == NULL)
        return list;
    for (fast = list->next_sibling; fast && fast->next_sibling;
         fast = fast->next_sibling->next_sibling)
        slow = slow->next_sibling;
    second = slow->next_sibling;
    slow->next_sibling = NULL;
    list = sort_siblings(tree, list);
    second = sort_siblings(tree, second);
    while (list != NULL && second != NULL) {
        struct rp_calltree_node **from =
            node_goes_before(tree, list, second) ? &list : &second;
        *tail = *from;
        tail = &(*from)->next_sibling;
        *from = (*from)->next_sibling;
    }
    *tail = list != NULL ? list : second;
    return merged;
}

static void node_sort_children(const struct rp_calltree *tree,
                               struct calltree_node *node)
{
    struct rp_calltree_node *child;

    node->public.first_child = sort_siblings(tree, node->public.first_child);
    for (child = node->public.first_child; child != NULL;
         child = child->next_sibling)
        node->last_child = child;
}

void rp_calltree_sort(struct rp_calltree *tree)
{
    node_sort_children(tree, &tree->root);
    for (struct node_chunk *chunk = tree->chunks; chunk; chunk = chunk->next) {
        for (size_t i = 0; i < chunk->used; i++)
            node_sort_children(tree, &chunk->nodes[i]);
    }
}

/* Folds b into a: the later time, both weights, the heavier one's leaf. */
static void point_absorb(struct rp_timeline_point *a,
                         const struct rp_timeline_point *b)
{
    if (b->weight >= a->weight)
        a->leaf = b->leaf;
    if (b->time_ns > a->time_ns)
        a->time_ns = b->time_ns;
    a->weight = a->weight > UINT32_MAX - b->weight ? UINT32_MAX
                                                   : a->weight + b->weight;
    uint64_t cpu_weight = (uint64_t)a->cpu_weight + b->cpu_weight;
    a->cpu_weight = cpu_weight < a->weight ? (uint32_t)cpu_weight : a->weight;
    a->merged += b->merged;
}

/* Halves the timeline by merging neighbours; later points gather twice
 * as many samples, so the timeline stays even. A point not yet full (the
 * last, when the count was odd) takes samples until it is. */
static void timeline_halve(struct rp_calltree *tree)
{
    size_t kept = 0;

    for (size_t i = 0; i < tree->point_count; i += 2) {
        tree->points[kept] = tree->points[i];
        if (i + 1 < tree->point_count)
            point_absorb(&tree->points[kept], &tree->points[i + 1]);
        kept++;
    }
    tree->point_count = kept;
    tree->point_stride *= 2;
}

int rp_calltree_timeline_add(struct rp_calltree *tree,
                             const struct rp_calltree_node *leaf,
                             uint64_t time_ns, uint64_t weight, uint64_t cpu_weight)
{
    uint32_t clamped = weight > UINT32_MAX ? UINT32_MAX : (uint32_t)weight;
    struct rp_timeline_point point = {
        time_ns, leaf, clamped, cpu_weight < clamped ? (uint32_t)cpu_weight : clamped, 1};
    size_t at = tree->point_count;

    if (weight == 0)
        return -1;
    /* Samples come in nearly in order (one thread's ring at a time), so
     * the place to insert is found from the end in a few steps. */
    while (at > 0 && tree->points[at - 1].time_ns > time_ns)
        at--;
    if (at > 0 && tree->points[at - 1].merged < tree->point_stride) {
        point_absorb(&tree->points[at - 1], &point);
        return 0;
    }
    if (tree->point_count == RP_TIMELINE_MAX) {
        timeline_halve(tree);
        return rp_calltree_timeline_add(tree, leaf, time_ns, weight, cpu_weight);
    }
    if (tree->point_count == tree->point_capacity) {
        size_t capacity = tree->point_capacity ? tree->point_capacity * 2 : 64;
        struct rp_timeline_point *points;

        if (capacity > RP_TIMELINE_MAX)
            capacity = RP_TIMELINE_MAX;
        points = rp_heap_realloc(tree->points, capacity * sizeof *points);
        if (points == NULL)
            return -1;
        tree->points = points;
        tree->point_capacity = capacity;
    }
    memmove(&tree->points[at + 1], &tree->points[at],
            (tree->point_count - at) * sizeof *tree->points);
    tree->points[at] = point;
    tree->point_count++;
    return 0;
}

void rp_calltree_timeline_rebase(struct rp_calltree *tree, uint64_t start_ns)
{
    for (size_t i = 0; i < tree->point_count; i++)
        tree->points[i].time_ns = tree->points[i].time_ns > start_ns
                                      ? tree->points[i].time_ns - start_ns
                                      : 0;
}

const struct rp_timeline_point *
rp_calltree_timeline(const struct rp_calltree *tree, size_t *count)
{
    *count = tree->point_count;
    return tree->points;
}
