/*
 * Symbols through libdwfl, cached; see symbolizer.h.
 *
 * Three caches: the code ranges of the functions resolved so far → frame,
 * so an instruction never sampled before in a known function costs a binary
 * search, not a libdwfl symbol search; address → frame, for addresses in
 * no function's range; and (object, function start) → frame, so that every
 * address inside one function yields the same frame and the call tree
 * merges them.
 * An address outside every known object usually means a library was loaded
 * after the last look at the mappings: they are re-read, at most once a
 * second, before the address is given up on.
 *
 * Calls the compiler inlined are read from the DWARF once per function of
 * the server's own code (DW_TAG_inlined_subroutine, nested; the function's
 * DIE is found in an index of its compilation unit's functions): the
 * function's code is cut into spans, each the code of one inlined call or
 * of the function itself, so an address's chain of inlined calls costs a
 * binary search. An inlined call is named the first time it is sampled.
 */
#include "symbolizer.h"

#include <dwarf.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <link.h>
#include <stddef.h>
#include <sys/auxv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "demangle.h"
#include "hash.h"
#include "heap.h"
#include "isolated.h"

/* Open-addressing hash table from a 64-bit key to a frame. */
struct symbol_map {
    uint64_t *keys;            /* 0 marks an empty slot */
    struct rp_frame **frames;
    size_t capacity;           /* power of two */
    size_t count;
};

/*
 * Functions' code, [start, end) each, sorted and apart, and their frames:
 * any address inside one gives its frame without asking libdwfl, whose
 * symbol search costs microseconds. Samples keep landing on instructions
 * never seen before, of the same few functions.
 */
struct symbol_range {
    uint64_t start;
    uint64_t end;
    struct rp_frame *frame;
};

struct symbol_ranges {
    struct symbol_range *items;
    size_t count;
    size_t capacity;
};

/* The longest build ID kept, in bytes (GNU ld's are 20: SHA-1). */
#define BUILD_ID_MAX 64

/* An object's facts plus the storage of its strings, and the load bias
 * that turns the process's addresses into the object's own. */
struct symbol_object {
    struct rp_object object;
    uint64_t bias;
    struct symbol_object *next; /* every object, for finding and freeing */
    char text[];                /* name and build ID: NUL-separated */
};

/* Marks no inlined call: the function's own code. */
#define SYMBOL_NOT_INLINED UINT32_MAX
/* Inlined calls read per function, and inlined calls nested in one
 * another that an address is shown with: beyond, the outer ones stand
 * for the code (bounded work and memory for code generated en masse). */
#define SYMBOL_INLINED_CALLS_MAX 4096
#define SYMBOL_INLINED_DEPTH_MAX (RP_SYMBOLIZER_FRAMES_MAX - 1)

/* One call the compiler inlined into a function. */
struct symbol_inlined_call {
    Dwarf_Die die;          /* its DW_TAG_inlined_subroutine */
    uint32_t caller;        /* the inlined call it is in (always an earlier
                             * one), or SYMBOL_NOT_INLINED */
    struct rp_frame *frame; /* named when first sampled; NULL till then */
    bool unnamed;           /* it has no name: its code is its caller's */
};

/* From start up to the next span's start, the code is call's. */
struct symbol_inlined_span {
    uint64_t start;
    uint32_t call; /* index in calls, or SYMBOL_NOT_INLINED */
};

/* What a function holds of inlined calls. */
struct symbol_inlined {
    struct symbol_inlined_call *calls;
    uint32_t call_count;
    struct symbol_inlined_span *spans; /* by start */
    size_t span_count;
    size_t span_capacity;
};

/* A frame plus the storage of its strings. */
struct symbol_frame {
    struct rp_frame frame;
    struct symbol_frame *next; /* every frame, for freeing */
    struct symbol_inlined *inlined; /* a function's inlined calls, or NULL */
    char text[];               /* function, object, file: NUL-separated */
};

/* What a lookup gives when there is no memory for a frame. */
static const struct rp_frame symbolizer_out_of_memory = {.function = "[out of memory]"};

/* The symbol_frame that holds frame, one of the symbolizer's own. */
static struct symbol_frame *symbol_frame_of(const struct rp_frame *frame)
{
    return (struct symbol_frame *)((char *)frame - offsetof(struct symbol_frame, frame));
}

static void inlined_free(struct symbol_inlined *inlined)
{
    if (inlined == NULL)
        return;
    rp_heap_free(inlined->calls);
    rp_heap_free(inlined->spans);
    rp_heap_free(inlined);
}

/* One range of a function's code in a compilation unit, and its DIE. */
struct symbol_unit_function {
    uint64_t low;   /* DWARF addresses, [low, high) */
    uint64_t high;
    Dwarf_Die die;  /* its DW_TAG_subprogram */
};

/*
 * The functions of a compilation unit whose code was sampled, by address,
 * read in one walk of the unit the first time one of its functions is
 * named: finding each function's DIE by a walk of its own cost a walk of
 * the unit per function (264 µs more per function of a unit of 3000).
 */
struct symbol_unit {
    const void *key;                        /* the unit DIE's place in the
                                             * DWARF data */
    struct symbol_unit_function *functions; /* by low */
    size_t count;
    size_t capacity;
    struct symbol_unit *next;               /* the unit read before */
};

struct rp_symbolizer {
    Dwfl *dwfl;                    /* NULL without libdw */
    struct symbol_unit *units;     /* units read, latest used first */
    struct symbol_ranges functions; /* code address → frame, by range */
    struct symbol_map by_address;  /* looked-up address → frame, outside
                                    * every range */
    struct symbol_map by_function; /* function entry address → frame */
    struct rp_frame *vdso_frame;   /* every address in the vDSO */
    struct symbol_frame *frames;
    struct symbol_object *objects;
    time_t mappings_read_at;       /* when the mappings were last read */
    char program[PATH_MAX];        /* this process's executable */
};

/* libdwfl keeps the files it opens for as long as the symbolizer lives:
 * they must not leak into programs the server executes. */
static int symbolizer_keep_private(int fd)
{
    if (fd >= 0)
        (void)fcntl(fd, F_SETFD, FD_CLOEXEC);
    return fd;
}

static int symbolizer_find_elf(Dwfl_Module *module, void **user_data,
                               const char *module_name, Dwarf_Addr base,
                               char **file_name, Elf **elf)
{
    return symbolizer_keep_private(RP_ISOLATED(dwfl_linux_proc_find_elf)(
        module, user_data, module_name, base, file_name, elf));
}

/* Whether the ELF file open on fd is the separate debug file of module:
 * the same build ID (a module without one cannot be checked). */
static bool symbolizer_debug_file_matches(Dwfl_Module *module, int fd)
{
    const unsigned char *wanted;
    GElf_Addr note_address;
    int wanted_length =
        RP_ISOLATED(dwfl_module_build_id)(module, &wanted, &note_address);
    if (wanted_length <= 0)
        return true;
    Elf *elf = RP_ISOLATED(elf_begin)(fd, ELF_C_READ_MMAP, NULL);
    const void *found;
    ssize_t found_length =
        elf != NULL ? RP_ISOLATED(dwelf_elf_gnu_build_id)(elf, &found) : -1;
    bool matches = found_length == wanted_length &&
                   memcmp(found, wanted, (size_t)wanted_length) == 0;
    RP_ISOLATED(elf_end)(elf);
    return matches;
}

/* The file .gnu_debuglink names, where GDB looks for it: beside the
 * object, in its .debug/, or under /usr/lib/debug. Returns an fd or -1;
 * libdwfl frees *found_name, so its own libc's strdup makes it. */
static int symbolizer_open_debuglink(Dwfl_Module *module, const char *file_name,
                                     const char *debuglink_file, char **found_name)
{
    /* Each place: what goes before the object's directory, and after. */
    static const char *const places[][2] = {
        {"", "/"}, {"", "/.debug/"}, {"/usr/lib/debug", "/"}};
    const char *slash = strrchr(file_name, '/');
    int directory_length = slash != NULL ? (int)(slash - file_name) : 0;
    char path[PATH_MAX];
    for (size_t i = 0; i < sizeof places / sizeof places[0]; i++) {
        if ((size_t)snprintf(path, sizeof path, "%s%.*s%s%s", places[i][0],
                             directory_length, file_name, places[i][1],
                             debuglink_file) >= sizeof path ||
            strcmp(path, file_name) == 0)
            continue;
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            continue;
        if (symbolizer_debug_file_matches(module, fd) &&
            (*found_name = RP_ISOLATED(strdup)(path)) != NULL)
            return fd;
        close(fd);
    }
    return -1;
}

/*
 * Separate debug files: by build ID under /usr/lib/debug/.build-id (where
 * Debian's -dbgsym packages put them), else by .gnu_debuglink. Not
 * elfutils' standard search: it ends in debuginfod, which with
 * DEBUGINFOD_URLS set (Debian's login shells set it) would go to the
 * network from inside the server, and whose curl and OpenSSL set-up was
 * seen to crash the writer against the server's exit.
 */
static int symbolizer_find_debuginfo(Dwfl_Module *module, void **user_data,
                                     const char *module_name, Dwarf_Addr base,
                                     const char *file_name,
                                     const char *debuglink_file,
                                     GElf_Word debuglink_crc,
                                     char **debuginfo_file_name)
{
    int fd = RP_ISOLATED(dwfl_build_id_find_debuginfo)(
        module, user_data, module_name, base, file_name, debuglink_file,
        debuglink_crc, debuginfo_file_name);
    if (fd < 0 && file_name != NULL && debuglink_file != NULL)
        fd = symbolizer_open_debuglink(module, file_name, debuglink_file,
                                       debuginfo_file_name);
    return symbolizer_keep_private(fd);
}

static const Dwfl_Callbacks symbolizer_callbacks = {
    .find_elf = symbolizer_find_elf,
    .find_debuginfo = symbolizer_find_debuginfo,
};

static struct rp_frame *symbol_map_get(const struct symbol_map *map, uint64_t key)
{
    if (map->capacity == 0)
        return NULL;
    for (size_t i = rp_hash_mix(key) & (map->capacity - 1);;
         i = (i + 1) & (map->capacity - 1)) {
        if (map->keys[i] == key)
            return map->frames[i];
        if (map->keys[i] == 0)
            return NULL;
    }
}

static int symbol_map_put(struct symbol_map *map, uint64_t key,
                          struct rp_frame *frame);

static int symbol_map_grow(struct symbol_map *map)
{
    struct symbol_map bigger = {.capacity = map->capacity ? map->capacity * 2 : 1024};
    bigger.keys = rp_heap_calloc(bigger.capacity, sizeof *bigger.keys);
    bigger.frames = rp_heap_calloc(bigger.capacity, sizeof *bigger.frames);
    if (bigger.keys == NULL || bigger.frames == NULL) {
        rp_heap_free(bigger.keys);
        rp_heap_free(bigger.frames);
        return -1;
    }
    for (size_t i = 0; i < map->capacity; i++)
        if (map->keys[i] != 0)
            (void)symbol_map_put(&bigger, map->keys[i], map->frames[i]);
    rp_heap_free(map->keys);
    rp_heap_free(map->frames);
    *map = bigger;
    return 0;
}

/* Keys are addresses, never 0 (address 0 is simply not cached). */
static int symbol_map_put(struct symbol_map *map, uint64_t key,
                          struct rp_frame *frame)
{
    if (key == 0)
        return 0;
    if ((map->count + 1) * 2 > map->capacity && symbol_map_grow(map) != 0)
        return -1;
    size_t i = rp_hash_mix(key) & (map->capacity - 1);
    while (map->keys[i] != 0 && map->keys[i] != key)
        i = (i + 1) & (map->capacity - 1);
    if (map->keys[i] == 0)
        map->count++;
    map->keys[i] = key;
    map->frames[i] = frame;
    return 0;
}

static void symbol_map_free(struct symbol_map *map)
{
    rp_heap_free(map->keys);
    rp_heap_free(map->frames);
}

/* Index of the first range that starts after address. */
static size_t symbol_ranges_after(const struct symbol_ranges *ranges,
                                  uint64_t address)
{
    size_t low = 0, high = ranges->count;
    while (low < high) {
        size_t middle = low + (high - low) / 2;
        if (ranges->items[middle].start <= address)
            low = middle + 1;
        else
            high = middle;
    }
    return low;
}

static struct rp_frame *symbol_ranges_find(const struct symbol_ranges *ranges,
                                           uint64_t address)
{
    size_t after = symbol_ranges_after(ranges, address);
    if (after == 0 || address >= ranges->items[after - 1].end)
        return NULL;
    return ranges->items[after - 1].frame;
}

/* Adds [start, end) unless it overlaps a range there (or no memory is
 * left): libdwfl then goes on answering for its addresses. */
static void symbol_ranges_add(struct symbol_ranges *ranges, uint64_t start,
                              uint64_t end, struct rp_frame *frame)
{
    size_t at = symbol_ranges_after(ranges, start);
    if (start >= end || (at > 0 && ranges->items[at - 1].end > start) ||
        (at < ranges->count && ranges->items[at].start < end))
        return;
    if (ranges->count == ranges->capacity) {
        size_t capacity = ranges->capacity ? ranges->capacity * 2 : 256;
        struct symbol_range *items =
            rp_heap_realloc(ranges->items, capacity * sizeof *items);
        if (items == NULL)
            return;
        ranges->items = items;
        ranges->capacity = capacity;
    }
    memmove(&ranges->items[at + 1], &ranges->items[at],
            (ranges->count - at) * sizeof *ranges->items);
    ranges->items[at] = (struct symbol_range){start, end, frame};
    ranges->count++;
}

/*
 * Reads which objects are mapped where. dwfl_linux_proc_report would also
 * open /proc/PID/auxv (to find the vDSO), which a server that dropped
 * privileges cannot read (it is no longer dumpable: the file is root's,
 * mode 0400), and then it reports nothing at all. /proc/self/maps stays
 * readable by the process itself; the vDSO goes unnamed.
 */
static int symbolizer_read_mappings(struct rp_symbolizer *symbolizer)
{
    symbolizer->mappings_read_at = time(NULL);
    /* libdwfl reads it with its own libc, which allocates the FILE's
     * buffer: the same libc makes and closes it. */
    FILE *maps = RP_ISOLATED(fopen)("/proc/self/maps", "re");
    if (maps == NULL)
        return -1;
    RP_ISOLATED(dwfl_report_begin_add)(symbolizer->dwfl);
    int result = RP_ISOLATED(dwfl_linux_proc_maps_report)(symbolizer->dwfl, maps);
    RP_ISOLATED(dwfl_report_end)(symbolizer->dwfl, NULL, NULL);
    RP_ISOLATED(fclose)(maps);
    return result == 0 ? 0 : -1;
}

struct rp_symbolizer *rp_symbolizer_new(void)
{
    struct rp_symbolizer *symbolizer = rp_heap_calloc(1, sizeof *symbolizer);
    if (symbolizer == NULL)
        return NULL;
    /* Without libdw (rp_isolated_load said why) every frame is named by
     * its address. */
    if (rp_isolated_load(RP_ISOLATED_LIBDW)) {
        symbolizer->dwfl = RP_ISOLATED(dwfl_begin)(&symbolizer_callbacks);
        if (symbolizer->dwfl == NULL) {
            rp_heap_free(symbolizer);
            return NULL;
        }
    }
    ssize_t length = readlink("/proc/self/exe", symbolizer->program,
                              sizeof symbolizer->program - 1);
    symbolizer->program[length > 0 ? length : 0] = '\0';
    if (symbolizer->dwfl != NULL)
        (void)symbolizer_read_mappings(symbolizer);
    return symbolizer;
}

void rp_symbolizer_free(struct rp_symbolizer *symbolizer)
{
    if (symbolizer == NULL)
        return;
    if (symbolizer->dwfl != NULL)
        RP_ISOLATED(dwfl_end)(symbolizer->dwfl);
    rp_heap_free(symbolizer->functions.items);
    symbol_map_free(&symbolizer->by_address);
    symbol_map_free(&symbolizer->by_function);
    for (struct symbol_unit *unit = symbolizer->units, *next; unit; unit = next) {
        next = unit->next;
        rp_heap_free(unit->functions);
        rp_heap_free(unit);
    }
    for (struct symbol_frame *frame = symbolizer->frames, *next; frame; frame = next) {
        next = frame->next;
        inlined_free(frame->inlined);
        rp_heap_free(frame);
    }
    for (struct symbol_object *object = symbolizer->objects, *next; object;
         object = next) {
        next = object->next;
        rp_heap_free(object);
    }
    rp_heap_free(symbolizer);
}

/* Makes a frame owning copies of its strings (object and file may be
 * NULL); address is its entry in its object, 0 when unknown. */
static struct rp_frame *symbolizer_new_frame(struct rp_symbolizer *symbolizer,
                                             const char *function,
                                             const char *object,
                                             const char *file, int line,
                                             uint64_t address)
{
    size_t function_size = strlen(function) + 1;
    size_t object_size = object ? strlen(object) + 1 : 0;
    size_t file_size = file ? strlen(file) + 1 : 0;
    struct symbol_frame *frame =
        rp_heap_malloc(sizeof *frame + function_size + object_size + file_size);
    if (frame == NULL)
        return NULL;
    char *text = frame->text;
    frame->frame.function = memcpy(text, function, function_size);
    text += function_size;
    frame->frame.object = object ? memcpy(text, object, object_size) : NULL;
    text += object_size;
    frame->frame.file = file ? memcpy(text, file, file_size) : NULL;
    frame->frame.line = line;
    frame->frame.address = address;
    frame->frame.inlined = false;
    frame->inlined = NULL;
    frame->next = symbolizer->frames;
    symbolizer->frames = frame;
    return &frame->frame;
}

/* The object's file name, which is what people recognise ("libc.so.6"). */
static const char *symbolizer_object_name(Dwfl_Module *module)
{
    const char *name = RP_ISOLATED(dwfl_module_info)(module, NULL, NULL, NULL,
                                                     NULL, NULL, NULL, NULL);
    if (name == NULL)
        return NULL;
    const char *slash = strrchr(name, '/');
    return slash ? slash + 1 : name;
}

const struct rp_object *rp_symbolizer_object(const struct rp_symbolizer *symbolizer,
                                             const char *name)
{
    for (const struct symbol_object *object = symbolizer->objects; object;
         object = object->next)
        if (strcmp(object->object.name, name) == 0)
            return &object->object;
    return NULL;
}

/* Writes the module's build ID into out (room for 2 * BUILD_ID_MAX + 1
 * bytes) as lowercase hex; "" when it has none. */
static void symbolizer_build_id(Dwfl_Module *module, char *out)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *bytes;
    GElf_Addr note_address;
    int length = RP_ISOLATED(dwfl_module_build_id)(module, &bytes, &note_address);

    if (length > BUILD_ID_MAX)
        length = 0;
    for (int i = 0; i < length; i++) {
        out[2 * i] = hex[bytes[i] >> 4];
        out[2 * i + 1] = hex[bytes[i] & 0xf];
    }
    out[length > 0 ? 2 * length : 0] = '\0';
}

/* Reads the module's executable segment (the first loadable one that is
 * executable) into object, and its load bias into *bias. */
static void symbolizer_text_segment(Dwfl_Module *module,
                                    struct rp_object *object, uint64_t *bias)
{
    GElf_Addr load_bias = 0;
    Elf *elf = RP_ISOLATED(dwfl_module_getelf)(module, &load_bias);
    size_t count = 0;

    *bias = load_bias;
    if (elf == NULL || RP_ISOLATED(elf_getphdrnum)(elf, &count) != 0)
        return;
    for (size_t i = 0; i < count; i++) {
        GElf_Phdr header;

        if (RP_ISOLATED(gelf_getphdr)(elf, (int)i, &header) != NULL &&
            header.p_type == PT_LOAD && (header.p_flags & PF_X)) {
            object->text_start = header.p_vaddr;
            object->text_end = header.p_vaddr + header.p_memsz;
            object->text_offset = header.p_offset;
            return;
        }
    }
}

/* The facts of the module named name, read the first time it is asked
 * for; NULL when out of memory. */
static struct symbol_object *symbolizer_object(struct rp_symbolizer *symbolizer,
                                               Dwfl_Module *module,
                                               const char *name)
{
    char build_id[2 * BUILD_ID_MAX + 1];
    struct symbol_object *object =
        (struct symbol_object *)rp_symbolizer_object(symbolizer, name);

    if (object != NULL)
        return object;
    symbolizer_build_id(module, build_id);
    size_t name_size = strlen(name) + 1, build_id_size = strlen(build_id) + 1;
    object = rp_heap_calloc(1, sizeof *object + name_size + build_id_size);
    if (object == NULL)
        return NULL;
    object->object.name = memcpy(object->text, name, name_size);
    if (build_id[0] != '\0')
        object->object.build_id =
            memcpy(object->text + name_size, build_id, build_id_size);
    symbolizer_text_segment(module, &object->object, &object->bias);
    object->next = symbolizer->objects;
    symbolizer->objects = object;
    return object;
}

/* DIE levels (namespaces, classes, blocks) read down to at most. */
#define SYMBOL_DIE_LEVEL_MAX 64

/* One address range of an inlined call, while a function's spans are made. */
struct inlined_range {
    uint64_t low;   /* process addresses, [low, high) */
    uint64_t high;
    uint32_t call;  /* index in the function's calls */
    uint32_t depth; /* inlined calls it is nested in */
};

/* A function's inlined calls being read. */
struct inlined_reading {
    struct symbol_inlined *inlined;
    struct inlined_range *ranges;
    size_t range_count;
    size_t range_capacity;
    Dwarf_Addr bias;  /* process address - DWARF address */
    bool failed;      /* out of memory: the function gets none */
};

/* Adds the ranges of the functions among parent's children (in
 * namespaces and classes too, not inside functions) to unit. */
static void unit_add_functions(struct symbol_unit *unit, Dwarf_Die *parent,
                               int level, bool *failed)
{
    Dwarf_Die child;
    if (level > SYMBOL_DIE_LEVEL_MAX || RP_ISOLATED(dwarf_child)(parent, &child) != 0)
        return;
    do {
        switch (RP_ISOLATED(dwarf_tag)(&child)) {
        case DW_TAG_subprogram: {
            Dwarf_Addr base, low, high;
            ptrdiff_t offset = 0;
            while (!*failed && (offset = RP_ISOLATED(dwarf_ranges)(
                                    &child, offset, &base, &low, &high)) > 0) {
                if (low >= high)
                    continue;
                if (unit->count == unit->capacity) {
                    size_t capacity = unit->capacity ? unit->capacity * 2 : 64;
                    struct symbol_unit_function *functions = rp_heap_realloc(
                        unit->functions, capacity * sizeof *functions);
                    if (functions == NULL) {
                        *failed = true;
                        return;
                    }
                    unit->functions = functions;
                    unit->capacity = capacity;
                }
                unit->functions[unit->count++] =
                    (struct symbol_unit_function){low, high, child};
            }
            break;
        }
        case DW_TAG_namespace:
        case DW_TAG_class_type:
        case DW_TAG_structure_type:
        case DW_TAG_union_type:
            unit_add_functions(unit, &child, level + 1, failed);
            break;
        default:
            break;
        }
    } while (!*failed && RP_ISOLATED(dwarf_siblingof)(&child, &child) == 0);
}

static int unit_function_compare(const void *a, const void *b)
{
    const struct symbol_unit_function *x = a, *y = b;
    return (x->low > y->low) - (x->low < y->low);
}

/* The functions of the unit whose DIE is unit_die, read the first time;
 * NULL when out of memory. The unit found is moved to the front. */
static struct symbol_unit *symbolizer_unit(struct rp_symbolizer *symbolizer,
                                           Dwarf_Die *unit_die)
{
    for (struct symbol_unit **link = &symbolizer->units; *link; link = &(*link)->next) {
        struct symbol_unit *unit = *link;
        if (unit->key == unit_die->addr) {
            *link = unit->next;
            unit->next = symbolizer->units;
            symbolizer->units = unit;
            return unit;
        }
    }
    struct symbol_unit *unit = rp_heap_calloc(1, sizeof *unit);
    bool failed = false;
    if (unit == NULL)
        return NULL;
    unit->key = unit_die->addr;
    unit_add_functions(unit, unit_die, 0, &failed);
    if (failed) {
        rp_heap_free(unit->functions);
        rp_heap_free(unit);
        return NULL;
    }
    qsort(unit->functions, unit->count, sizeof *unit->functions,
          unit_function_compare);
    unit->next = symbolizer->units;
    symbolizer->units = unit;
    return unit;
}

/* The DIE of the function of unit whose code holds pc (a DWARF address). */
static bool unit_find_function(const struct symbol_unit *unit, Dwarf_Addr pc,
                               Dwarf_Die *found)
{
    size_t low = 0, high = unit->count;
    while (low < high) {
        size_t middle = low + (high - low) / 2;
        if (unit->functions[middle].low <= pc)
            low = middle + 1;
        else
            high = middle;
    }
    /* Functions do not overlap, but a nested one (GNU C) lies within its
     * parent's range: the latest start holding pc is the innermost. */
    for (size_t i = low; i > 0; i--)
        if (pc < unit->functions[i - 1].high) {
            *found = unit->functions[i - 1].die;
            return true;
        } else if (low - i >= 8) {
            break;
        }
    return false;
}

/* Adds an inlined call, inside caller; its index, or SYMBOL_NOT_INLINED. */
static uint32_t inlined_add_call(struct inlined_reading *reading, Dwarf_Die *die,
                                 uint32_t caller)
{
    struct symbol_inlined *inlined = reading->inlined;
    uint32_t count = inlined->call_count;
    if (count == SYMBOL_INLINED_CALLS_MAX)
        return SYMBOL_NOT_INLINED;
    /* Full at 0 and at each power of two: doubled. */
    if ((count & (count - 1)) == 0) {
        struct symbol_inlined_call *calls = rp_heap_realloc(
            inlined->calls, (count ? count * 2 : 1) * sizeof *calls);
        if (calls == NULL) {
            reading->failed = true;
            return SYMBOL_NOT_INLINED;
        }
        inlined->calls = calls;
    }
    inlined->calls[count] = (struct symbol_inlined_call){.die = *die, .caller = caller};
    inlined->call_count++;
    return count;
}

static void inlined_add_range(struct inlined_reading *reading, uint64_t low,
                              uint64_t high, uint32_t call, uint32_t depth)
{
    if (low >= high)
        return;
    if (reading->range_count == reading->range_capacity) {
        size_t capacity = reading->range_capacity ? reading->range_capacity * 2 : 16;
        struct inlined_range *ranges =
            rp_heap_realloc(reading->ranges, capacity * sizeof *ranges);
        if (ranges == NULL) {
            reading->failed = true;
            return;
        }
        reading->ranges = ranges;
        reading->range_capacity = capacity;
    }
    reading->ranges[reading->range_count++] =
        (struct inlined_range){low, high, call, depth};
}

/* Reads the inlined calls among parent's children (and theirs, through
 * lexical blocks), depth inlined calls deep, inside caller. */
static void inlined_gather(struct inlined_reading *reading, Dwarf_Die *parent,
                           uint32_t caller, uint32_t depth, int level)
{
    Dwarf_Die child;
    if (level > SYMBOL_DIE_LEVEL_MAX || depth >= SYMBOL_INLINED_DEPTH_MAX ||
        RP_ISOLATED(dwarf_child)(parent, &child) != 0)
        return;
    do {
        int tag = RP_ISOLATED(dwarf_tag)(&child);
        if (tag == DW_TAG_lexical_block) {
            inlined_gather(reading, &child, caller, depth, level + 1);
        } else if (tag == DW_TAG_inlined_subroutine) {
            uint32_t call = inlined_add_call(reading, &child, caller);
            if (call == SYMBOL_NOT_INLINED)
                return;
            Dwarf_Addr base, start, end;
            ptrdiff_t offset = 0;
            while ((offset = RP_ISOLATED(dwarf_ranges)(&child, offset, &base,
                                                       &start, &end)) > 0)
                inlined_add_range(reading, start + reading->bias,
                                  end + reading->bias, call, depth);
            inlined_gather(reading, &child, call, depth + 1, level + 1);
        }
    } while (!reading->failed && RP_ISOLATED(dwarf_siblingof)(&child, &child) == 0);
}

/* By start; at one start the outer call first, and the longer range. */
static int inlined_range_compare(const void *a, const void *b)
{
    const struct inlined_range *x = a, *y = b;
    if (x->low != y->low)
        return x->low < y->low ? -1 : 1;
    if (x->depth != y->depth)
        return x->depth < y->depth ? -1 : 1;
    return (x->high < y->high) - (x->high > y->high);
}

/* Says that from start on the code is call's (SYMBOL_NOT_INLINED: the
 * function's own). Starts come in order. */
static void inlined_span_from(struct inlined_reading *reading, uint64_t start,
                              uint32_t call)
{
    struct symbol_inlined *inlined = reading->inlined;
    struct symbol_inlined_span *last =
        inlined->span_count > 0 ? &inlined->spans[inlined->span_count - 1] : NULL;
    if (last != NULL && last->start == start) {
        last->call = call;
        return;
    }
    if (last != NULL ? last->call == call : call == SYMBOL_NOT_INLINED)
        return;
    if (inlined->span_count == inlined->span_capacity) {
        size_t capacity = inlined->span_capacity ? inlined->span_capacity * 2 : 16;
        struct symbol_inlined_span *spans =
            rp_heap_realloc(inlined->spans, capacity * sizeof *spans);
        if (spans == NULL) {
            reading->failed = true;
            return;
        }
        inlined->spans = spans;
        inlined->span_capacity = capacity;
    }
    inlined->spans[inlined->span_count++] = (struct symbol_inlined_span){start, call};
}

/*
 * Cuts the function's code into spans from the ranges read: each address
 * goes to the innermost call whose ranges hold it. Ranges nest (a call's
 * code lies within its caller's), so one sweep in order of address, with
 * the calls open at that address on a stack, does it. A range reaching out
 * of the one it starts in (DWARF that does not nest) is cut at its end.
 */
static void inlined_make_spans(struct inlined_reading *reading)
{
    struct inlined_range *open[SYMBOL_INLINED_DEPTH_MAX];
    size_t top = 0;
    qsort(reading->ranges, reading->range_count, sizeof *reading->ranges,
          inlined_range_compare);
    for (size_t i = 0; i <= reading->range_count; i++) {
        struct inlined_range *range = i < reading->range_count ? &reading->ranges[i] : NULL;
        /* The calls that end before this range starts (all, at the end). */
        while (top > 0 && (range == NULL || open[top - 1]->high <= range->low)) {
            top--;
            inlined_span_from(reading, open[top]->high,
                              top > 0 ? open[top - 1]->call : SYMBOL_NOT_INLINED);
        }
        if (range == NULL || top == SYMBOL_INLINED_DEPTH_MAX)
            continue;
        if (top > 0 && range->high > open[top - 1]->high)
            range->high = open[top - 1]->high;
        if (range->low >= range->high)
            continue;
        inlined_span_from(reading, range->low, range->call);
        open[top++] = range;
    }
}

/*
 * The calls inlined into the function that starts at entry in module, or
 * NULL: none, no DWARF for it, or no memory. Reads the function's DIE
 * tree once; the calls are named when first sampled.
 */
static struct symbol_inlined *symbolizer_read_inlined(struct rp_symbolizer *symbolizer,
                                                      Dwfl_Module *module,
                                                      Dwarf_Addr entry)
{
    struct inlined_reading reading = {0};
    Dwarf_Die *unit_die = RP_ISOLATED(dwfl_module_addrdie)(module, entry, &reading.bias);
    struct symbol_unit *unit =
        unit_die != NULL ? symbolizer_unit(symbolizer, unit_die) : NULL;
    Dwarf_Die function;
    if (unit == NULL || !unit_find_function(unit, entry - reading.bias, &function) ||
        (reading.inlined = rp_heap_calloc(1, sizeof *reading.inlined)) == NULL)
        return NULL;
    inlined_gather(&reading, &function, SYMBOL_NOT_INLINED, 0, 0);
    if (!reading.failed)
        inlined_make_spans(&reading);
    rp_heap_free(reading.ranges);
    if (reading.failed || reading.inlined->span_count == 0) {
        inlined_free(reading.inlined);
        return NULL;
    }
    return reading.inlined;
}

/* The call whose code holds address, or SYMBOL_NOT_INLINED. */
static uint32_t inlined_call_at(const struct symbol_inlined *inlined,
                                uint64_t address)
{
    size_t low = 0, high = inlined->span_count;
    while (low < high) {
        size_t middle = low + (high - low) / 2;
        if (inlined->spans[middle].start <= address)
            low = middle + 1;
        else
            high = middle;
    }
    return low > 0 ? inlined->spans[low - 1].call : SYMBOL_NOT_INLINED;
}

/*
 * The frame of an inlined call, named the first time it is asked for: by
 * its function's linkage name, demangled, else its plain name, where it is
 * declared. NULL when it has no name (or no memory): its code then shows
 * as its caller's.
 */
static struct rp_frame *symbolizer_inlined_frame(struct rp_symbolizer *symbolizer,
                                                 struct symbol_inlined_call *call,
                                                 const char *object)
{
    static const unsigned name_attributes[] = {
        DW_AT_linkage_name, DW_AT_MIPS_linkage_name, DW_AT_name};
    if (call->frame != NULL || call->unnamed)
        return call->frame;
    const char *name = NULL;
    Dwarf_Attribute attribute;
    for (size_t i = 0; name == NULL && i < sizeof name_attributes / sizeof name_attributes[0]; i++)
        name = RP_ISOLATED(dwarf_formstring)(RP_ISOLATED(dwarf_attr_integrate)(
            &call->die, name_attributes[i], &attribute));
    call->unnamed = name == NULL;
    if (name == NULL)
        return NULL;
    int line = 0;
    const char *file = RP_ISOLATED(dwarf_decl_file)(&call->die);
    if (file == NULL || RP_ISOLATED(dwarf_decl_line)(&call->die, &line) != 0)
        line = 0;
    char *readable = rp_demangle(name);
    call->frame = symbolizer_new_frame(symbolizer, readable != NULL ? readable : name,
                                       object, file, line, 0);
    rp_heap_free(readable);
    if (call->frame != NULL)
        call->frame->inlined = true;
    return call->frame;
}

/*
 * Writes the frames of the code at address in function (a frame of this
 * symbolizer's, or out of memory's) to frames, outermost first: the
 * function, then each call inlined there, innermost last. Past room, the
 * outermost are left out. Returns how many (at least 1).
 */
static size_t symbolizer_expand(struct rp_symbolizer *symbolizer,
                                const struct rp_frame *function, uintptr_t address,
                                const struct rp_frame **frames, size_t room)
{
    const struct symbol_frame *owner =
        function != &symbolizer_out_of_memory ? symbol_frame_of(function) : NULL;
    const struct rp_frame *innermost_first[SYMBOL_INLINED_DEPTH_MAX + 1];
    size_t count = 0;
    if (owner != NULL && owner->inlined != NULL) {
        struct symbol_inlined *inlined = owner->inlined;
        for (uint32_t call = inlined_call_at(inlined, address);
             call != SYMBOL_NOT_INLINED && count < SYMBOL_INLINED_DEPTH_MAX;
             call = inlined->calls[call].caller) {
            const struct rp_frame *frame = symbolizer_inlined_frame(
                symbolizer, &inlined->calls[call], function->object);
            if (frame != NULL)
                innermost_first[count++] = frame;
        }
    }
    innermost_first[count++] = function;
    if (count > room)
        count = room;
    for (size_t i = 0; i < count; i++)
        frames[i] = innermost_first[count - 1 - i];
    return count;
}

/* The frame for an address inside a known object. */
static struct rp_frame *symbolizer_resolve(struct rp_symbolizer *symbolizer,
                                           Dwfl_Module *module,
                                           Dwarf_Addr address)
{
    GElf_Off offset = 0;
    GElf_Sym symbol;
    const char *name = RP_ISOLATED(dwfl_module_addrinfo)(
        module, address, &offset, &symbol, NULL, NULL, NULL);
    /* The symbol's size bounds the function, for the range cache. */
    uint64_t size = name != NULL ? symbol.st_size : 0;
    const char *object = symbolizer_object_name(module);
    /* The object's facts: a frame's address is an address of its object. */
    struct symbol_object *facts =
        object != NULL ? symbolizer_object(symbolizer, module, object) : NULL;
    uint64_t bias = facts != NULL ? facts->bias : 0;
    char unknown[64];
    Dwarf_Addr entry = address;
    if (name == NULL) {
        /* No symbol covers it (stripped code, JIT): name it by the address
         * within its object so it still means something after a restart. */
        Dwarf_Addr start = 0;
        RP_ISOLATED(dwfl_module_info)(module, NULL, &start, NULL, NULL, NULL,
                                      NULL, NULL);
        snprintf(unknown, sizeof unknown, "0x%" PRIx64, (uint64_t)(address - start));
        name = unknown;
    } else {
        entry = address - offset;
    }
    /* .symtab names carry their symbol version ("clock_gettime@@GLIBC_2.17"):
     * people know the function by its plain name. */
    char plain[256];
    const char *at = strchr(name, '@');
    if (at != NULL && at != name && (size_t)(at - name) < sizeof plain) {
        memcpy(plain, name, (size_t)(at - name));
        plain[at - name] = '\0';
        name = plain;
    }
    struct rp_frame *frame = symbol_map_get(&symbolizer->by_function, entry);
    if (frame != NULL)
        return frame;
    /* The source line of the function's entry names the function's place
     * in the code, like a definition line would. Only the server's own
     * code gets one: views fold the frames of system libraries, and their
     * lines cost the most to read and keep (libc's separate debug file
     * alone decompresses to ~10 MiB of DWARF, held while the symbolizer
     * lives; its symbol table is a small part of that file). */
    const char *file = NULL;
    int line = 0;
    struct rp_frame named = {.function = name, .object = object};
    Dwfl_Line *line_info = rp_frame_is_library(&named, symbolizer->program)
                               ? NULL
                               : RP_ISOLATED(dwfl_module_getsrc)(module, entry);
    if (line_info != NULL)
        file = RP_ISOLATED(dwfl_lineinfo)(line_info, NULL, &line, NULL, NULL, NULL);
    if (file == NULL)
        line = 0;
    char *readable = rp_demangle(name);
    frame = symbolizer_new_frame(symbolizer, readable != NULL ? readable : name, object,
                                 file, line, facts != NULL ? entry - bias : 0);
    rp_heap_free(readable);
    /* Inlined calls too only in the server's own code, for the same
     * reasons; a line says the module has DWARF for the function. */
    if (frame != NULL && line_info != NULL)
        symbol_frame_of(frame)->inlined =
            symbolizer_read_inlined(symbolizer, module, entry);
    if (frame != NULL) {
        (void)symbol_map_put(&symbolizer->by_function, entry, frame);
        if (size > 0)
            symbol_ranges_add(&symbolizer->functions, entry, entry + size,
                              frame);
    }
    return frame;
}

/* The size of the vDSO, the kernel's code mapped into every process
 * (clock_gettime lives there) at *start, which has no file to read; 0 if
 * there is none. */
static uintptr_t symbolizer_vdso(uintptr_t *start)
{
    const ElfW(Ehdr) *header = (const ElfW(Ehdr) *)getauxval(AT_SYSINFO_EHDR);
    *start = (uintptr_t)header;
    if (header == NULL)
        return 0;
    const ElfW(Phdr) *segments =
        (const ElfW(Phdr) *)((const char *)header + header->e_phoff);
    for (int i = 0; i < header->e_phnum; i++)
        if (segments[i].p_type == PT_LOAD)
            return segments[i].p_memsz;
    return 0;
}

/* Whether address is in the vDSO. */
static bool symbolizer_in_vdso(uintptr_t address)
{
    uintptr_t vdso_start, vdso_size = symbolizer_vdso(&vdso_start);
    return address >= vdso_start && address - vdso_start < vdso_size;
}

/* The frame for an address in no known object: the vDSO, or named by the
 * address. */
static struct rp_frame *symbolizer_unknown(struct rp_symbolizer *symbolizer,
                                           uintptr_t address)
{
    if (symbolizer_in_vdso(address)) {
        uintptr_t vdso_start, vdso_size = symbolizer_vdso(&vdso_start);
        if (symbolizer->vdso_frame == NULL) {
            symbolizer->vdso_frame =
                symbolizer_new_frame(symbolizer, "[vdso]", "[vdso]", NULL, 0, 0);
            if (symbolizer->vdso_frame != NULL)
                symbol_ranges_add(&symbolizer->functions, vdso_start,
                                  vdso_start + vdso_size, symbolizer->vdso_frame);
        }
        return symbolizer->vdso_frame;
    }
    char name[32];
    snprintf(name, sizeof name, "0x%" PRIxPTR, address);
    return symbolizer_new_frame(symbolizer, name, NULL, NULL, 0, 0);
}

/* The function holding the code at lookup, an exact address. */
static const struct rp_frame *symbolizer_function_at(struct rp_symbolizer *symbolizer,
                                                     uintptr_t lookup)
{
    struct rp_frame *frame = symbol_ranges_find(&symbolizer->functions, lookup);
    if (frame == NULL)
        frame = symbol_map_get(&symbolizer->by_address, lookup);
    if (frame != NULL)
        return frame;
    /* The vDSO has no file, and libdwfl's modules read from the maps may
     * reach over it: a Python server's clock_gettime leaf was named as
     * an address in libreqprof.so. */
    Dwfl_Module *module = NULL;
    if (symbolizer->dwfl != NULL && !symbolizer_in_vdso(lookup)) {
        module = RP_ISOLATED(dwfl_addrmodule)(symbolizer->dwfl, lookup);
        if (module == NULL && time(NULL) != symbolizer->mappings_read_at &&
            symbolizer_read_mappings(symbolizer) == 0)
            module = RP_ISOLATED(dwfl_addrmodule)(symbolizer->dwfl, lookup);
    }
    frame = module != NULL ? symbolizer_resolve(symbolizer, module, lookup)
                           : symbolizer_unknown(symbolizer, lookup);
    if (frame == NULL)
        return &symbolizer_out_of_memory;
    if (symbol_ranges_find(&symbolizer->functions, lookup) != frame)
        (void)symbol_map_put(&symbolizer->by_address, lookup, frame);
    return frame;
}

size_t rp_symbolizer_lookup(struct rp_symbolizer *symbolizer, uintptr_t address,
                            bool is_return_address, const struct rp_frame **frames,
                            size_t room)
{
    uintptr_t lookup = is_return_address && address > 0 ? address - 1 : address;
    if (room == 0)
        return 0;
    return symbolizer_expand(symbolizer, symbolizer_function_at(symbolizer, lookup),
                             lookup, frames, room);
}
