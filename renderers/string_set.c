/*
 * A small list of distinct strings, for the views that name each object
 * once: a fold's libraries, pprof's mappings, the HTML page's library
 * list. A report names a few dozen objects at most, so a linear search
 * beats a hash table in code and in time.
 */
#include <stdlib.h>
#include <string.h>

#include "heap.h"
#include "internal.h"

size_t rp_string_set_add(struct rp_string_set *set, const char *text)
{
    for (size_t i = 0; i < set->count; i++) {
        if (strcmp(set->items[i], text) == 0)
            return i;
    }
    if (set->count == set->capacity) {
        size_t capacity = set->capacity ? set->capacity * 2 : 8;
        const char **items = rp_heap_realloc(set->items, capacity * sizeof *items);

        if (items == NULL) {
            set->failed = true;
            return set->count;
        }
        set->items = items;
        set->capacity = capacity;
    }
    set->items[set->count] = text;
    return set->count++;
}

void rp_string_set_free(struct rp_string_set *set)
{
    rp_heap_free(set->items);
    memset(set, 0, sizeof *set);
}
