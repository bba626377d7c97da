/*
 * Stack walking from .eh_frame; see unwind.h.
 *
 * A frame is undone by the CFI row of its function at the frame's address:
 * the CFA (the caller's stack pointer) is a register plus an offset, or a
 * DWARF expression; the return address and the caller's rbp are saved at
 * offsets from the CFA, or left alone. Finding that row takes a binary
 * search of the object's .eh_frame_hdr for the FDE, then running its CIE's
 * and its own CFA instructions up to the address. Rows are then cached by
 * address in the table, one 64-bit word each, which any thread's walk reads
 * and writes atomically: a stack that recurs costs a load, a compare and
 * two reads per frame.
 *
 * Only rip, rsp and rbp are followed (the x86_64 ABI's return address,
 * stack pointer and frame pointer): a CFA computed from any other register
 * ends the walk, as does anything the tables do not describe. Like C++
 * exceptions and libunwind's fast path, the walk trusts the CFI, within
 * checks that cost nothing: the CFA grows from frame to frame, and the
 * stack is read only between the interrupted stack pointer's red zone and
 * the top of the thread's stack, where that is known.
 */
#include "architecture.h"
#include "atomic.h"
#include "unwind.h"

#include <dlfcn.h>
#include <dwarf.h>
#include <link.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

/* DWARF register numbers on x86_64 (System V ABI, "DWARF Register Number
 * Mapping"); the return address has a column of its own. */
enum { UNWIND_RBP = 6, UNWIND_RSP = 7, UNWIND_RETURN_ADDRESS = 16 };

/* A leaf function may keep data, saved registers included, in the 128
 * bytes below its stack pointer (the ABI's red zone). */
#define UNWIND_RED_ZONE 128
/* A frame without CFI is taken for a frame-pointer frame only if rbp is
 * at most this far above the stack pointer (libunwind's heuristic). */
#define UNWIND_GUESSED_FRAME_MAX 0x4000
/* CFI rows saved at once by DW_CFA_remember_state; compilers nest 1 or 2. */
#define UNWIND_REMEMBERED_MAX 8
/* Values a DWARF expression may hold at once. */
#define UNWIND_EXPRESSION_DEPTH 16
/* Rules cached per table: 4096 words, 32 KiB. */
#define UNWIND_CACHE_BITS 12
#define UNWIND_CACHE_SIZE (1u << UNWIND_CACHE_BITS)
/* A cached word holds a rule in its low bits and the address's tag (the
 * bits its cache index does not give) above them; addresses must be below
 * 2^47, as x86_64 user space is with 4-level page tables. */
#define UNWIND_RULE_BITS 29
#define UNWIND_CACHED_ADDRESS_LIMIT (1ull << (64 - UNWIND_RULE_BITS + UNWIND_CACHE_BITS))

/* One executable segment of a loaded object, with the object's tables. */
struct unwind_object {
    uintptr_t code_start, code_end; /* the segment: [code_start, code_end) */
    /* The segment that holds .eh_frame_hdr and .eh_frame: every read of
     * unwind data stays inside it, because ld.so leaves the holes between
     * an object's segments mapped but inaccessible. */
    const uint8_t *data_start, *data_end;
    const uint8_t *header;    /* .eh_frame_hdr: the table's base */
    const uint8_t *fde_table; /* fde_count pairs of int32 offsets from
                               * header (function start, its FDE), sorted */
    size_t fde_count;
};

struct rp_unwind_table {
    /* Rules by address (unwind_rule_pack), filled by any thread's walk. A
     * table is never changed otherwise: objects that come or go make a new
     * table, so no cached rule outlives the code it describes. */
    uint64_t rules[UNWIND_CACHE_SIZE];
    unsigned long long loads, unloads; /* dl_iterate_phdr's counters then */
    struct rp_unwind_table *next_retired; /* writer only */
    bool held; /* writer only: a reader held it at the current sweep */
    size_t object_count;
    struct unwind_object objects[]; /* by code_start */
};

/* The table walks start from; replaced only by the writer (or the load). */
static struct rp_unwind_table *unwind_current;
/* Replaced tables that readers may still hold; writer only. */
static struct rp_unwind_table *unwind_retired;

/* Where libreqprof.so's own code is loaded: [own_code_start, own_code_end). */
static uintptr_t own_code_start, own_code_end;

/* ------------------------------------------------------------ reading CFI */

/* Bytes of unwind data; a read past end fails the cursor, and every value
 * read from a failed cursor is 0. */
struct cfi_cursor {
    const uint8_t *at, *end;
    bool failed;
};

static uint64_t cfi_read_unsigned(struct cfi_cursor *cursor, size_t size)
{
    if (cursor->failed || (size_t)(cursor->end - cursor->at) < size) {
        cursor->failed = true;
        return 0;
    }
    uint64_t value = 0;
    memcpy(&value, cursor->at, size); /* little-endian, like the data */
    cursor->at += size;
    return value;
}

static int64_t cfi_read_signed(struct cfi_cursor *cursor, size_t size)
{
    uint64_t value = cfi_read_unsigned(cursor, size);
    unsigned unused_bits = 64 - 8 * (unsigned)size;
    return unused_bits == 0 ? (int64_t)value : (int64_t)(value << unused_bits) >> unused_bits;
}

static uint8_t cfi_read_byte(struct cfi_cursor *cursor)
{
    return (uint8_t)cfi_read_unsigned(cursor, 1);
}

static uint64_t cfi_read_uleb(struct cfi_cursor *cursor)
{
    uint64_t value = 0;
    for (unsigned shift = 0; shift < 64; shift += 7) {
        uint8_t byte = cfi_read_byte(cursor);
        value |= (uint64_t)(byte & 0x7f) << shift;
        if (!(byte & 0x80))
            return value;
    }
    cursor->failed = true;
    return 0;
}

static int64_t cfi_read_sleb(struct cfi_cursor *cursor)
{
    uint64_t value = 0;
    for (unsigned shift = 0; shift < 64;) {
        uint8_t byte = cfi_read_byte(cursor);
        value |= (uint64_t)(byte & 0x7f) << shift;
        shift += 7;
        if (!(byte & 0x80)) {
            if (shift < 64 && (byte & 0x40))
                value |= ~(uint64_t)0 << shift;
            return (int64_t)value;
        }
    }
    cursor->failed = true;
    return 0;
}

/* A value in one of the DW_EH_PE_* formats (the low four bits). */
static uint64_t cfi_read_format(struct cfi_cursor *cursor, uint8_t encoding)
{
    switch (encoding & 0x0f) {
    case DW_EH_PE_absptr:
    case DW_EH_PE_udata8:
    case DW_EH_PE_sdata8:
        return cfi_read_unsigned(cursor, 8);
    case DW_EH_PE_udata2:
        return cfi_read_unsigned(cursor, 2);
    case DW_EH_PE_udata4:
        return cfi_read_unsigned(cursor, 4);
    case DW_EH_PE_sdata2:
        return (uint64_t)cfi_read_signed(cursor, 2);
    case DW_EH_PE_sdata4:
        return (uint64_t)cfi_read_signed(cursor, 4);
    case DW_EH_PE_uleb128:
        return cfi_read_uleb(cursor);
    case DW_EH_PE_sleb128:
        return (uint64_t)cfi_read_sleb(cursor);
    default:
        cursor->failed = true;
        return 0;
    }
}

/* An encoded pointer: absolute, relative to where it is stored (pcrel) or
 * to data_base (datarel). Indirect pointers (personality routines only)
 * and the other bases are never needed here. */
static uintptr_t cfi_read_pointer(struct cfi_cursor *cursor, uint8_t encoding,
                                  const uint8_t *data_base)
{
    const uint8_t *stored_at = cursor->at;
    uint64_t value = cfi_read_format(cursor, encoding);
    switch (encoding & 0x70) {
    case DW_EH_PE_absptr:
        return (uintptr_t)value;
    case DW_EH_PE_pcrel:
        return (uintptr_t)stored_at + (uintptr_t)value;
    case DW_EH_PE_datarel:
        return (uintptr_t)data_base + (uintptr_t)value;
    default:
        cursor->failed = true;
        return 0;
    }
}

/* What a walk needs of one FDE and its CIE. */
struct cfi_entry {
    uintptr_t pc_start, pc_end; /* the code it covers */
    uint64_t code_align;        /* advance_loc deltas are in these units */
    int64_t data_align;         /* offsets are in these units */
    uint8_t pointer_encoding;   /* of the FDE's addresses (and set_loc's) */
    bool augmented;             /* the FDE has augmentation data */
    struct cfi_cursor cie_program, fde_program;
};

/* Opens the CIE or FDE at record: the cursor then covers what follows its
 * length. False unless it is one whole record inside the object's data. */
static bool cfi_open_record(const struct unwind_object *object, const uint8_t *record,
                            struct cfi_cursor *cursor)
{
    if (record < object->data_start || record >= object->data_end)
        return false;
    *cursor = (struct cfi_cursor){record, object->data_end, false};
    uint32_t length = (uint32_t)cfi_read_unsigned(cursor, 4);
    /* 0 ends .eh_frame; 0xffffffff announces 64-bit lengths, which
     * .eh_frame never uses. */
    if (length == 0 || length == 0xffffffff || length > (size_t)(cursor->end - cursor->at))
        return false;
    cursor->end = cursor->at + length;
    return true;
}

/* Reads the length of the augmentation data that follows; returns where
 * that data ends, or NULL if it does not fit in the record. */
static const uint8_t *cfi_augmentation_end(struct cfi_cursor *cursor)
{
    uint64_t length = cfi_read_uleb(cursor);
    if (cursor->failed || length > (size_t)(cursor->end - cursor->at))
        return NULL;
    return cursor->at + length;
}

/* Reads the CIE at cie into entry. */
static bool cfi_parse_cie(const struct unwind_object *object, const uint8_t *cie,
                          struct cfi_entry *entry)
{
    struct cfi_cursor cursor;
    if (!cfi_open_record(object, cie, &cursor))
        return false;
    uint32_t id = (uint32_t)cfi_read_unsigned(&cursor, 4);
    uint8_t version = cfi_read_byte(&cursor);
    if (id != 0 || (version != 1 && version != 3))
        return false;
    const char *augmentation = (const char *)cursor.at;
    const uint8_t *nul = memchr(cursor.at, '\0', (size_t)(cursor.end - cursor.at));
    if (nul == NULL)
        return false;
    cursor.at = nul + 1;
    entry->code_align = cfi_read_uleb(&cursor);
    entry->data_align = cfi_read_sleb(&cursor);
    uint64_t return_column = version == 1 ? cfi_read_byte(&cursor) : cfi_read_uleb(&cursor);
    if (return_column != UNWIND_RETURN_ADDRESS)
        return false;
    entry->pointer_encoding = DW_EH_PE_absptr;
    entry->augmented = augmentation[0] == 'z';
    if (entry->augmented) {
        const uint8_t *data_end = cfi_augmentation_end(&cursor);
        if (data_end == NULL)
            return false;
        for (const char *letter = augmentation + 1; *letter != '\0'; letter++) {
            if (*letter == 'R') {
                entry->pointer_encoding = cfi_read_byte(&cursor);
            } else if (*letter == 'P') {
                uint8_t encoding = cfi_read_byte(&cursor);
                (void)cfi_read_format(&cursor, encoding); /* personality */
            } else if (*letter == 'L') {
                (void)cfi_read_byte(&cursor); /* LSDA encoding */
            } else if (*letter != 'S') {
                /* 'S' marks a signal frame, which unwind_is_sigreturn
                 * recognises by its code; other letters are unknown. */
                return false;
            }
        }
        cursor.at = data_end;
    } else if (augmentation[0] != '\0') {
        return false;
    }
    entry->cie_program = cursor;
    return !cursor.failed;
}

/* Reads the FDE at fde, and its CIE, into entry. */
static bool cfi_parse_fde(const struct unwind_object *object, const uint8_t *fde,
                          struct cfi_entry *entry)
{
    struct cfi_cursor cursor;
    if (!cfi_open_record(object, fde, &cursor))
        return false;
    const uint8_t *cie_pointer_at = cursor.at;
    uint32_t cie_offset = (uint32_t)cfi_read_unsigned(&cursor, 4);
    if (cie_offset == 0 || cie_offset > (uintptr_t)cie_pointer_at ||
        !cfi_parse_cie(object, cie_pointer_at - cie_offset, entry))
        return false;
    entry->pc_start = cfi_read_pointer(&cursor, entry->pointer_encoding, NULL);
    entry->pc_end = entry->pc_start +
                    (uintptr_t)cfi_read_format(&cursor, entry->pointer_encoding);
    if (entry->augmented) {
        const uint8_t *data_end = cfi_augmentation_end(&cursor); /* the LSDA */
        if (data_end == NULL)
            return false;
        cursor.at = data_end;
    }
    entry->fde_program = cursor;
    return !cursor.failed;
}

/* ------------------------------------------------------------- CFI rows */

/* How to find a register of the caller (DWARF's register rules). */
enum unwind_rule_kind {
    RULE_SAME,          /* unchanged by the callee */
    RULE_UNDEFINED,     /* lost (for the return address: the outermost frame) */
    RULE_AT_CFA,        /* saved at CFA + offset */
    RULE_IS_CFA,        /* its value is CFA + offset */
    RULE_AT_EXPRESSION, /* saved where the expression (CFA pushed) says */
    RULE_IS_EXPRESSION, /* its value is the expression's */
    RULE_UNSUPPORTED,   /* in another register: not followed */
};

struct unwind_rule {
    uint8_t kind; /* enum unwind_rule_kind */
    int64_t offset;
    const uint8_t *expression;
    uint64_t expression_length;
};

/* The CFI row of one address, for the registers a walk follows. */
struct cfi_row {
    bool cfa_by_expression;  /* else CFA = cfa_register + cfa_offset */
    uint64_t cfa_register;
    int64_t cfa_offset;
    const uint8_t *cfa_expression;
    uint64_t cfa_expression_length;
    struct unwind_rule rbp, return_address;
};

/* A row before any instruction: nothing known, rbp kept. */
static const struct cfi_row cfi_row_empty = {
    .cfa_register = UINT64_MAX,
    .rbp = {.kind = RULE_SAME},
    .return_address = {.kind = RULE_UNDEFINED},
};

static struct unwind_rule *cfi_row_rule(struct cfi_row *row, uint64_t dwarf_register)
{
    if (dwarf_register == UNWIND_RBP)
        return &row->rbp;
    if (dwarf_register == UNWIND_RETURN_ADDRESS)
        return &row->return_address;
    return NULL; /* a register the walk does not follow */
}

static void cfi_set_rule(struct cfi_row *row, uint64_t dwarf_register,
                         enum unwind_rule_kind kind, int64_t offset)
{
    struct unwind_rule *rule = cfi_row_rule(row, dwarf_register);
    if (rule != NULL)
        *rule = (struct unwind_rule){.kind = (uint8_t)kind, .offset = offset};
}

/* Records the expression that follows in the program as a rule. */
static void cfi_set_expression_rule(struct cfi_cursor *program, struct cfi_row *row,
                                    uint64_t dwarf_register, enum unwind_rule_kind kind)
{
    uint64_t length = cfi_read_uleb(program);
    if (length > (size_t)(program->end - program->at)) {
        program->failed = true;
        return;
    }
    struct unwind_rule *rule = cfi_row_rule(row, dwarf_register);
    if (rule != NULL)
        *rule = (struct unwind_rule){.kind = (uint8_t)kind,
                                     .expression = program->at,
                                     .expression_length = length};
    program->at += length;
}

/* Where the CFA instructions run: the row being built, the address it is
 * for, and the rows DW_CFA_restore and DW_CFA_restore_state go back to. */
struct cfi_machine {
    const struct cfi_entry *entry;
    uintptr_t target;   /* the address whose row is wanted */
    uintptr_t location; /* the address the row describes so far */
    struct cfi_row row;
    struct cfi_row initial; /* after the CIE's instructions */
    struct cfi_row remembered[UNWIND_REMEMBERED_MAX];
    unsigned remembered_count;
};

/* Moves the row's location; false when that passes the target (the row
 * for the target is then complete). */
static bool cfi_advance(struct cfi_machine *machine, uintptr_t location)
{
    if (location > machine->target)
        return false;
    machine->location = location;
    return true;
}

/* Runs program until its end or until the row covers the target. Returns
 * false on instructions it does not know or malformed data. */
static bool cfi_run(struct cfi_machine *machine, struct cfi_cursor program)
{
    const struct cfi_entry *entry = machine->entry;
    struct cfi_row *row = &machine->row;
    while (program.at < program.end && !program.failed) {
        uint8_t opcode = cfi_read_byte(&program);
        uint8_t operand = opcode & 0x3f;
        uint64_t dwarf_register;
        switch (opcode & 0xc0) {
        case DW_CFA_advance_loc:
            if (!cfi_advance(machine, machine->location + operand * entry->code_align))
                return true;
            continue;
        case DW_CFA_offset:
            cfi_set_rule(row, operand, RULE_AT_CFA,
                         (int64_t)cfi_read_uleb(&program) * entry->data_align);
            continue;
        case DW_CFA_restore:
            if (cfi_row_rule(row, operand) != NULL)
                *cfi_row_rule(row, operand) = *cfi_row_rule(&machine->initial, operand);
            continue;
        }
        switch (opcode) {
        case DW_CFA_nop:
            break;
        case DW_CFA_GNU_args_size: /* bytes of arguments pushed: not needed */
            (void)cfi_read_uleb(&program);
            break;
        case DW_CFA_set_loc:
            if (!cfi_advance(machine, cfi_read_pointer(&program, entry->pointer_encoding, NULL)))
                return true;
            break;
        case DW_CFA_advance_loc1:
        case DW_CFA_advance_loc2:
        case DW_CFA_advance_loc4: {
            size_t size = opcode == DW_CFA_advance_loc1 ? 1 : opcode == DW_CFA_advance_loc2 ? 2 : 4;
            uint64_t delta = cfi_read_unsigned(&program, size);
            if (!cfi_advance(machine, machine->location + delta * entry->code_align))
                return true;
            break;
        }
        case DW_CFA_offset_extended:
        case DW_CFA_offset_extended_sf:
        case DW_CFA_GNU_negative_offset_extended:
        case DW_CFA_val_offset:
        case DW_CFA_val_offset_sf: {
            /* A register saved at (or whose value is) CFA + a factor of
             * data_align: the variants differ in the factor's encoding. */
            dwarf_register = cfi_read_uleb(&program);
            bool factor_signed = opcode == DW_CFA_offset_extended_sf ||
                                 opcode == DW_CFA_val_offset_sf;
            int64_t factor = factor_signed ? cfi_read_sleb(&program)
                                           : (int64_t)cfi_read_uleb(&program);
            if (opcode == DW_CFA_GNU_negative_offset_extended)
                factor = -factor;
            bool is_value = opcode == DW_CFA_val_offset || opcode == DW_CFA_val_offset_sf;
            cfi_set_rule(row, dwarf_register, is_value ? RULE_IS_CFA : RULE_AT_CFA,
                         factor * entry->data_align);
            break;
        }
        case DW_CFA_restore_extended:
            dwarf_register = cfi_read_uleb(&program);
            if (cfi_row_rule(row, dwarf_register) != NULL)
                *cfi_row_rule(row, dwarf_register) =
                    *cfi_row_rule(&machine->initial, dwarf_register);
            break;
        case DW_CFA_undefined:
            cfi_set_rule(row, cfi_read_uleb(&program), RULE_UNDEFINED, 0);
            break;
        case DW_CFA_same_value:
            cfi_set_rule(row, cfi_read_uleb(&program), RULE_SAME, 0);
            break;
        case DW_CFA_register: {
            dwarf_register = cfi_read_uleb(&program);
            uint64_t holder = cfi_read_uleb(&program);
            cfi_set_rule(row, dwarf_register,
                         holder == dwarf_register ? RULE_SAME : RULE_UNSUPPORTED, 0);
            break;
        }
        case DW_CFA_remember_state:
            /* The CFA is part of what is remembered, as GCC's epilogues
             * (and libgcc's unwinder) expect. */
            if (machine->remembered_count == UNWIND_REMEMBERED_MAX)
                return false;
            machine->remembered[machine->remembered_count++] = *row;
            break;
        case DW_CFA_restore_state:
            if (machine->remembered_count == 0)
                return false;
            *row = machine->remembered[--machine->remembered_count];
            break;
        case DW_CFA_def_cfa:
            row->cfa_by_expression = false;
            row->cfa_register = cfi_read_uleb(&program);
            row->cfa_offset = (int64_t)cfi_read_uleb(&program);
            break;
        case DW_CFA_def_cfa_sf:
            row->cfa_by_expression = false;
            row->cfa_register = cfi_read_uleb(&program);
            row->cfa_offset = cfi_read_sleb(&program) * entry->data_align;
            break;
        case DW_CFA_def_cfa_register:
            row->cfa_by_expression = false;
            row->cfa_register = cfi_read_uleb(&program);
            break;
        case DW_CFA_def_cfa_offset:
            row->cfa_offset = (int64_t)cfi_read_uleb(&program);
            break;
        case DW_CFA_def_cfa_offset_sf:
            row->cfa_offset = cfi_read_sleb(&program) * entry->data_align;
            break;
        case DW_CFA_def_cfa_expression: {
            uint64_t length = cfi_read_uleb(&program);
            if (length > (size_t)(program.end - program.at))
                return false;
            row->cfa_by_expression = true;
            row->cfa_expression = program.at;
            row->cfa_expression_length = length;
            program.at += length;
            break;
        }
        case DW_CFA_expression:
            dwarf_register = cfi_read_uleb(&program);
            cfi_set_expression_rule(&program, row, dwarf_register, RULE_AT_EXPRESSION);
            break;
        case DW_CFA_val_expression:
            dwarf_register = cfi_read_uleb(&program);
            cfi_set_expression_rule(&program, row, dwarf_register, RULE_IS_EXPRESSION);
            break;
        default:
            return false;
        }
    }
    return !program.failed;
}

/* The row of entry's function at address pc. */
static bool cfi_row_at(const struct cfi_entry *entry, uintptr_t pc, struct cfi_row *row)
{
    struct cfi_machine machine = {
        .entry = entry,
        .target = UINTPTR_MAX, /* the CIE's instructions all apply */
        .location = entry->pc_start,
        .row = cfi_row_empty,
        .initial = cfi_row_empty,
    };
    if (!cfi_run(&machine, entry->cie_program))
        return false;
    machine.initial = machine.row;
    machine.target = pc;
    machine.location = entry->pc_start;
    if (!cfi_run(&machine, entry->fde_program))
        return false;
    *row = machine.row;
    return true;
}

/* ------------------------------------------------------------- the walk */

/* One walk's bounds: the stack is read only in [stack_low, stack_high),
 * directly where that is the thread's own stack (checked), else through
 * the kernel. */
struct unwind_walk {
    struct rp_unwind_table *table;
    uintptr_t stack_low, stack_high;
    bool checked; /* [stack_low, stack_high) is known to be mapped */
};

/* The registers of the frame being undone. */
struct unwind_registers {
    uintptr_t rip, rsp, rbp;
    bool rbp_known; /* false once a callee's CFI says rbp was lost */
    bool rip_exact; /* rip is where the thread stood, not a return address */
};

/* Reads a word through the kernel: fails, never faults. */
static bool unwind_read_safely(uintptr_t address, uintptr_t *value)
{
    struct iovec local = {value, sizeof *value};
    struct iovec remote = {(void *)address, sizeof *value};
    return process_vm_readv(getpid(), &local, 1, &remote, 1, 0) == (ssize_t)sizeof *value;
}

static inline bool unwind_read_stack(const struct unwind_walk *walk, uintptr_t address,
                              uintptr_t *value)
{
    if (address < walk->stack_low || address > walk->stack_high - sizeof *value ||
        address % sizeof *value != 0)
        return false;
    if (!walk->checked)
        return unwind_read_safely(address, value);
    *value = *(const uintptr_t *)address;
    return true;
}

static bool unwind_register_value(const struct unwind_registers *registers,
                                  uint64_t dwarf_register, uintptr_t *value)
{
    if (dwarf_register == UNWIND_RSP)
        *value = registers->rsp;
    else if (dwarf_register == UNWIND_RBP && registers->rbp_known)
        *value = registers->rbp;
    else if (dwarf_register == UNWIND_RETURN_ADDRESS)
        *value = registers->rip;
    else
        return false;
    return true;
}

/*
 * Evaluates a DWARF expression of CFI: the operations compilers and
 * linkers emit there (PLT entries compute their CFA from rip; functions
 * that realign the stack read it back through rbp). initial, if given, is
 * pushed first (the CFA, for register rules).
 */
static bool unwind_evaluate(const struct unwind_walk *walk,
                            const struct unwind_registers *registers,
                            const uint8_t *expression, uint64_t length,
                            const uintptr_t *initial, uintptr_t *result)
{
    uintptr_t stack[UNWIND_EXPRESSION_DEPTH];
    unsigned depth = 0;
    if (initial != NULL)
        stack[depth++] = *initial;
    struct cfi_cursor cursor = {expression, expression + length, false};
    while (cursor.at < cursor.end) {
        uint8_t opcode = cfi_read_byte(&cursor);
        uintptr_t value;
        if (opcode >= DW_OP_lit0 && opcode <= DW_OP_lit31) {
            value = opcode - DW_OP_lit0;
        } else if (opcode >= DW_OP_breg0 && opcode <= DW_OP_breg31) {
            if (!unwind_register_value(registers, opcode - DW_OP_breg0, &value))
                return false;
            value += (uintptr_t)cfi_read_sleb(&cursor);
        } else if (opcode >= DW_OP_const1u && opcode <= DW_OP_const8s) {
            /* const1u, const1s, const2u, ... const8s: 1 to 8 bytes,
             * unsigned then signed. */
            unsigned variant = opcode - DW_OP_const1u;
            size_t size = (size_t)1 << (variant / 2);
            value = variant % 2 ? (uintptr_t)cfi_read_signed(&cursor, size)
                                : (uintptr_t)cfi_read_unsigned(&cursor, size);
        } else if (opcode == DW_OP_constu) {
            value = (uintptr_t)cfi_read_uleb(&cursor);
        } else if (opcode == DW_OP_consts) {
            value = (uintptr_t)cfi_read_sleb(&cursor);
        } else if (opcode == DW_OP_nop) {
            continue;
        } else if (opcode == DW_OP_dup || opcode == DW_OP_over) {
            unsigned back = opcode == DW_OP_dup ? 1 : 2;
            if (depth < back)
                return false;
            value = stack[depth - back];
        } else if (opcode == DW_OP_drop) {
            if (depth == 0)
                return false;
            depth--;
            continue;
        } else if (opcode == DW_OP_swap) {
            if (depth < 2)
                return false;
            value = stack[depth - 1];
            stack[depth - 1] = stack[depth - 2];
            stack[depth - 2] = value;
            continue;
        } else if (opcode == DW_OP_deref) {
            if (depth == 0 || !unwind_read_stack(walk, stack[depth - 1], &stack[depth - 1]))
                return false;
            continue;
        } else if (opcode == DW_OP_plus_uconst) {
            if (depth == 0)
                return false;
            stack[depth - 1] += (uintptr_t)cfi_read_uleb(&cursor);
            continue;
        } else {
            /* The binary operations: the top two values become one. */
            if (depth < 2)
                return false;
            uintptr_t right = stack[--depth], left = stack[depth - 1];
            switch (opcode) {
            case DW_OP_plus: value = left + right; break;
            case DW_OP_minus: value = left - right; break;
            case DW_OP_and: value = left & right; break;
            case DW_OP_or: value = left | right; break;
            case DW_OP_xor: value = left ^ right; break;
            case DW_OP_shl: value = right < 64 ? left << right : 0; break;
            case DW_OP_shr: value = right < 64 ? left >> right : 0; break;
            case DW_OP_eq: value = left == right; break;
            case DW_OP_ne: value = left != right; break;
            case DW_OP_ge: value = (intptr_t)left >= (intptr_t)right; break;
            case DW_OP_gt: value = (intptr_t)left > (intptr_t)right; break;
            case DW_OP_le: value = (intptr_t)left <= (intptr_t)right; break;
            case DW_OP_lt: value = (intptr_t)left < (intptr_t)right; break;
            default: return false;
            }
            stack[depth - 1] = value;
            continue;
        }
        if (depth == UNWIND_EXPRESSION_DEPTH)
            return false;
        stack[depth++] = value;
    }
    if (cursor.failed || depth == 0)
        return false;
    *result = stack[depth - 1];
    return true;
}

/* The caller's value of a register by its rule; *known stays as it is for
 * RULE_SAME (value then holds the callee's value). */
static bool unwind_apply_rule(const struct unwind_walk *walk,
                              const struct unwind_registers *registers,
                              const struct unwind_rule *rule, uintptr_t cfa,
                              uintptr_t *value, bool *known)
{
    uintptr_t address;
    switch (rule->kind) {
    case RULE_SAME:
        return true;
    case RULE_UNDEFINED:
        *known = false;
        return true;
    case RULE_AT_CFA:
        *known = true;
        return unwind_read_stack(walk, cfa + (uintptr_t)rule->offset, value);
    case RULE_IS_CFA:
        *known = true;
        *value = cfa + (uintptr_t)rule->offset;
        return true;
    case RULE_AT_EXPRESSION:
        *known = true;
        return unwind_evaluate(walk, registers, rule->expression,
                               rule->expression_length, &cfa, &address) &&
               unwind_read_stack(walk, address, value);
    case RULE_IS_EXPRESSION:
        *known = true;
        return unwind_evaluate(walk, registers, rule->expression,
                               rule->expression_length, &cfa, value);
    default:
        return false;
    }
}

/* Undoes one frame by its row. False when the walk ends here: the
 * outermost frame, or a frame that cannot be undone safely. */
static bool unwind_step_by_row(const struct unwind_walk *walk, const struct cfi_row *row,
                               struct unwind_registers *registers)
{
    uintptr_t cfa;
    if (row->cfa_by_expression) {
        if (!unwind_evaluate(walk, registers, row->cfa_expression,
                             row->cfa_expression_length, NULL, &cfa))
            return false;
    } else {
        if (!unwind_register_value(registers, row->cfa_register, &cfa) ||
            row->cfa_register == UNWIND_RETURN_ADDRESS)
            return false;
        cfa += (uintptr_t)row->cfa_offset;
    }
    /* The caller's frame is above the callee's: a CFA that does not grow
     * would loop, or read what is not this stack. */
    if (cfa <= registers->rsp)
        return false;
    uintptr_t return_address = 0, rbp = registers->rbp;
    bool return_address_known = false, rbp_known = registers->rbp_known;
    if (!unwind_apply_rule(walk, registers, &row->return_address, cfa,
                           &return_address, &return_address_known) ||
        !return_address_known || return_address == 0 ||
        !unwind_apply_rule(walk, registers, &row->rbp, cfa, &rbp, &rbp_known))
        return false;
    registers->rip = return_address;
    registers->rsp = cfa;
    registers->rbp = rbp;
    registers->rbp_known = rbp_known;
    registers->rip_exact = false;
    return true;
}

/*
 * The cache's form of a row, for the rows nearly every frame has: CFA = rsp
 * or rbp + 0..65535, the return address at CFA - 8, rbp kept or saved at
 * CFA + 8k (|8k| <= 8 KiB). CFA = rsp + 0 (never a real frame) marks the
 * outermost frame. Bits: 0-15 CFA offset, 16 CFA from rbp, 17 rbp saved,
 * 18-28 rbp's slot / 8.
 */
static bool unwind_rule_pack(const struct cfi_row *row, uint64_t *rule)
{
    if (row->return_address.kind == RULE_UNDEFINED) {
        *rule = 0;
        return true;
    }
    bool cfa_by_rbp = row->cfa_register == UNWIND_RBP;
    bool rbp_saved = row->rbp.kind == RULE_AT_CFA;
    int64_t rbp_slot = rbp_saved ? row->rbp.offset / 8 : 0;
    if (row->cfa_by_expression ||
        (row->cfa_register != UNWIND_RSP && !cfa_by_rbp) ||
        row->cfa_offset <= 0 || row->cfa_offset > 0xffff ||
        row->return_address.kind != RULE_AT_CFA || row->return_address.offset != -8 ||
        (row->rbp.kind != RULE_SAME && !rbp_saved) ||
        (rbp_saved && (row->rbp.offset % 8 != 0 || rbp_slot < -1024 || rbp_slot > 1023)))
        return false;
    *rule = (uint64_t)row->cfa_offset | (uint64_t)cfa_by_rbp << 16 |
            (uint64_t)rbp_saved << 17 | ((uint64_t)rbp_slot & 0x7ff) << 18;
    return true;
}

/* Undoes one frame by a packed rule (the cache's form of its row); the
 * same as unwind_step_by_row on that row, without decoding it. */
static inline bool unwind_step_by_rule(const struct unwind_walk *walk, uint64_t rule,
                                struct unwind_registers *registers)
{
    uintptr_t cfa_offset = (uintptr_t)(rule & 0xffff);
    bool cfa_by_rbp = rule >> 16 & 1;
    if (cfa_offset == 0 && !cfa_by_rbp)
        return false; /* the outermost frame */
    if (cfa_by_rbp && !registers->rbp_known)
        return false;
    uintptr_t cfa = (cfa_by_rbp ? registers->rbp : registers->rsp) + cfa_offset;
    uintptr_t return_address;
    if (cfa <= registers->rsp || !unwind_read_stack(walk, cfa - 8, &return_address) ||
        return_address == 0)
        return false;
    if (rule >> 17 & 1) {
        int64_t rbp_slot = (int64_t)(rule << (64 - UNWIND_RULE_BITS)) >> (64 - 11);
        if (!unwind_read_stack(walk, cfa + (uintptr_t)(rbp_slot * 8), &registers->rbp))
            return false;
        registers->rbp_known = true;
    }
    registers->rip = return_address;
    registers->rsp = cfa;
    registers->rip_exact = false;
    return true;
}

static unsigned unwind_cache_index(uintptr_t pc)
{
    return (unsigned)((pc ^ (pc >> UNWIND_CACHE_BITS)) & (UNWIND_CACHE_SIZE - 1));
}

/* The object whose code holds pc, or NULL. */
static const struct unwind_object *unwind_find_object(const struct rp_unwind_table *table,
                                                      uintptr_t pc)
{
    size_t low = 0, high = table->object_count;
    while (low < high) {
        size_t middle = low + (high - low) / 2;
        if (table->objects[middle].code_start <= pc)
            low = middle + 1;
        else
            high = middle;
    }
    if (low == 0 || pc >= table->objects[low - 1].code_end)
        return NULL;
    return &table->objects[low - 1];
}

static int32_t unwind_fde_table_value(const struct unwind_object *object, size_t index)
{
    int32_t value;
    memcpy(&value, object->fde_table + index * 4, sizeof value);
    return value;
}

/* The FDE of the function holding pc: the last that starts at or before it. */
static const uint8_t *unwind_find_fde(const struct unwind_object *object, uintptr_t pc)
{
    size_t low = 0, high = object->fde_count;
    while (low < high) {
        size_t middle = low + (high - low) / 2;
        uintptr_t start = (uintptr_t)object->header +
                          (uintptr_t)(intptr_t)unwind_fde_table_value(object, 2 * middle);
        if (start <= pc)
            low = middle + 1;
        else
            high = middle;
    }
    if (low == 0)
        return NULL;
    return object->header + unwind_fde_table_value(object, 2 * (low - 1) + 1);
}

/* glibc's __restore_rt, where a signal handler returns to:
 * mov $15, %rax (rt_sigreturn); syscall. */
static const uint8_t unwind_sigreturn_code[] = {0x48, 0xc7, 0xc0, 0x0f, 0x00,
                                                0x00, 0x00, 0x0f, 0x05};

static bool unwind_is_sigreturn(const struct unwind_object *object, uintptr_t rip)
{
    return rip >= object->code_start &&
           object->code_end - rip >= sizeof unwind_sigreturn_code &&
           memcmp((const void *)rip, unwind_sigreturn_code, sizeof unwind_sigreturn_code) == 0;
}

/* Undoes a signal frame: the interrupted context's registers are in the
 * ucontext the kernel put at the stack pointer. */
static bool unwind_step_signal_frame(const struct unwind_walk *walk,
                                     struct unwind_registers *registers)
{
    uintptr_t registers_at = registers->rsp + offsetof(ucontext_t, uc_mcontext.gregs);
    uintptr_t rip, rsp, rbp;
    if (!unwind_read_stack(walk, registers_at + REG_RIP * sizeof(greg_t), &rip) ||
        !unwind_read_stack(walk, registers_at + REG_RSP * sizeof(greg_t), &rsp) ||
        !unwind_read_stack(walk, registers_at + REG_RBP * sizeof(greg_t), &rbp) ||
        rsp <= registers->rsp) /* a handler on an alternate stack: not followed */
        return false;
    *registers = (struct unwind_registers){rip, rsp, rbp, true, true};
    return true;
}

/*
 * Undoes a frame that no CFI describes (JIT code such as V8's, assembly
 * without directives) as a frame-pointer frame, as libunwind did: the
 * caller's rbp at [rbp], the return address at [rbp + 8], the CFA at
 * rbp + 16. Here rbp may hold anything, so it must be a little above the
 * stack pointer, and the two words are read through the kernel, which
 * refuses an unmapped address where a load would fault: one system call
 * (async-signal-safe) per such frame.
 */
static bool unwind_step_by_frame_pointer(struct unwind_registers *registers)
{
    uintptr_t rbp = registers->rbp;
    if (!registers->rbp_known || rbp < registers->rsp || rbp % 8 != 0 ||
        rbp - registers->rsp > UNWIND_GUESSED_FRAME_MAX)
        return false;
    uintptr_t saved[2]; /* the caller's rbp, the return address */
    if (!unwind_read_safely(rbp, &saved[0]) || !unwind_read_safely(rbp + 8, &saved[1]) ||
        saved[1] == 0)
        return false;
    *registers = (struct unwind_registers){
        .rip = saved[1], .rsp = rbp + 16, .rbp = saved[0], .rbp_known = true};
    return true;
}

/*
 * Whether object is still loaded where the table says, which holds pc. The
 * table is as old as the writer's last sweep: since then the server may
 * have dlclosed the object and dlopened another over its addresses, whose
 * code a thread may be running. The old object's tables are then unmapped
 * (a read would fault) or someone else's bytes. glibc's _dl_find_object
 * knows what is loaded now, and takes no lock: it is async-signal-safe
 * (glibc manual, "Dynamic Linker Introspection"), and a dlclose takes the
 * object out of what it finds before unmapping it.
 */
static bool unwind_object_is_loaded(const struct unwind_object *object, uintptr_t pc)
{
    struct dl_find_object found;
    return _dl_find_object((void *)pc, &found) == 0 &&
           found.dlfo_eh_frame == (void *)object->header;
}

/* unwind_step for a frame whose rule is not cached: finds and runs its
 * CFI, and caches the rule. Out of line, so that the cached path keeps
 * the registers in registers. */
__attribute__((noinline)) static bool
unwind_step_uncached(const struct unwind_walk *walk, struct unwind_registers *registers,
                     uintptr_t pc, uint64_t *cached)
{
    const struct unwind_object *object = unwind_find_object(walk->table, pc);
    if (object == NULL || !unwind_object_is_loaded(object, pc))
        return unwind_step_by_frame_pointer(registers);
    /* Not cached: its row would not tell that the frame is a signal's. */
    if (!registers->rip_exact && unwind_is_sigreturn(object, registers->rip))
        return unwind_step_signal_frame(walk, registers);
    const uint8_t *fde = unwind_find_fde(object, pc);
    struct cfi_entry entry;
    if (fde == NULL)
        return unwind_step_by_frame_pointer(registers);
    if (!cfi_parse_fde(object, fde, &entry))
        return false;
    if (pc < entry.pc_start || pc >= entry.pc_end)
        return unwind_step_by_frame_pointer(registers); /* between functions */
    struct cfi_row row;
    if (!cfi_row_at(&entry, pc, &row))
        return false;
    uint64_t rule;
    if (!unwind_rule_pack(&row, &rule))
        return unwind_step_by_row(walk, &row, registers);
    if (pc < UNWIND_CACHED_ADDRESS_LIMIT)
        rp_atomic_store_relaxed(cached,
                                (uint64_t)(pc >> UNWIND_CACHE_BITS) << UNWIND_RULE_BITS | rule);
    return unwind_step_by_rule(walk, rule, registers);
}

/* Undoes the frame in registers; false when the walk ends there. */
static inline bool unwind_step(const struct unwind_walk *walk,
                               struct unwind_registers *registers)
{
    /* A return address is just past its call, which may be the last
     * instruction of its function: look up the call itself. */
    uintptr_t pc = registers->rip_exact ? registers->rip : registers->rip - 1;
    uint64_t *cached = &walk->table->rules[unwind_cache_index(pc)];
    uint64_t word = rp_atomic_load_relaxed(cached);
    if (word != 0 && word >> UNWIND_RULE_BITS == pc >> UNWIND_CACHE_BITS)
        return unwind_step_by_rule(walk, word, registers);
    return unwind_step_uncached(walk, registers, pc, cached);
}

void rp_unwind_reader_init(struct rp_unwind_reader *reader)
{
    pthread_attr_t attributes;
    void *low;
    size_t size, guard;
    reader->stack_low = reader->stack_high = 0;
    if (pthread_getattr_np(pthread_self(), &attributes) != 0)
        return;
    /* The guard pages are at the bottom of what glibc calls the stack. */
    if (pthread_attr_getstack(&attributes, &low, &size) == 0 &&
        pthread_attr_getguardsize(&attributes, &guard) == 0 && guard < size) {
        reader->stack_low = (uintptr_t)low + guard;
        reader->stack_high = (uintptr_t)low + size;
    }
    pthread_attr_destroy(&attributes);
}

/*
 * Takes hold of the current table in the reader's next slot (a hazard
 * pointer): announced first, then checked to be still current, so that a
 * sweep either sees the announcement or has published a newer table that
 * the check then finds. NULL when walks nest deeper than the slots.
 */
static struct rp_unwind_table *unwind_hold(struct rp_unwind_reader *reader, int slot)
{
    if (slot >= RP_UNWIND_NESTING_MAX)
        return NULL;
    struct rp_unwind_table *table = rp_atomic_load_seq_cst(&unwind_current);
    for (;;) {
        rp_atomic_store_seq_cst(&reader->tables[slot], table);
        struct rp_unwind_table *current = rp_atomic_load_seq_cst(&unwind_current);
        if (current == table)
            return table;
        table = current;
    }
}

/* Fills frames from the registers of the innermost frame. */
static int unwind_walk(struct rp_unwind_reader *reader, struct unwind_registers registers,
                       void **frames, int capacity)
{
    if (capacity <= 0)
        return 0;
    /* A signal handler's walk may interrupt this thread's own: each takes
     * the next slot, and gives it back before the one it interrupted goes
     * on. */
    int slot = reader->depth++;
    rp_signal_fence();
    /* On the thread's own stack (not a coroutine's, not an alternate
     * signal stack), all from the red zone up is mapped. */
    bool own_stack = registers.rsp >= reader->stack_low + UNWIND_RED_ZONE &&
                     registers.rsp < reader->stack_high;
    struct unwind_walk walk = {
        .table = unwind_hold(reader, slot),
        .stack_low = registers.rsp - UNWIND_RED_ZONE,
        .stack_high = own_stack ? reader->stack_high : UINTPTR_MAX,
        .checked = own_stack,
    };
    int count = 0;
    frames[count++] = (void *)registers.rip;
    if (walk.table != NULL) {
        while (count < capacity && unwind_step(&walk, &registers))
            frames[count++] = (void *)registers.rip;
        rp_atomic_store_release(&reader->tables[slot], NULL);
    }
    rp_signal_fence();
    reader->depth--;
    return count;
}

int rp_unwind_from_signal(const ucontext_t *context, struct rp_unwind_reader *reader,
                          void **frames, int capacity)
{
    const greg_t *interrupted = context->uc_mcontext.gregs;
    struct unwind_registers registers = {
        .rip = (uintptr_t)interrupted[REG_RIP],
        .rsp = (uintptr_t)interrupted[REG_RSP],
        .rbp = (uintptr_t)interrupted[REG_RBP],
        .rbp_known = true,
        .rip_exact = true,
    };
    return unwind_walk(reader, registers, frames, capacity);
}

__attribute__((noinline)) int rp_unwind_here(struct rp_unwind_reader *reader,
                                             void **frames, int capacity)
{
    struct unwind_registers registers = {.rbp_known = true, .rip_exact = true};
    /* The three registers at one instruction: no push or pop in between,
     * so the CFI row of rip describes this rsp. */
    __asm__ volatile("leaq 0(%%rip), %0\n\t"
                     "movq %%rsp, %1\n\t"
                     "movq %%rbp, %2"
                     : "=r"(registers.rip), "=r"(registers.rsp), "=r"(registers.rbp));
    return unwind_walk(reader, registers, frames, capacity);
}

/* ------------------------------------------------------------ the table */

/* The objects found so far while a table is built. */
struct unwind_build {
    struct unwind_object *objects;
    size_t count, capacity;
    bool failed; /* out of memory */
    unsigned long long loads, unloads;
};

/* dl_iterate_phdr's counters of objects loaded and unloaded, which change
 * whenever the set of objects does. */
static void unwind_note_counters(const struct dl_phdr_info *info, size_t size,
                                 unsigned long long *loads, unsigned long long *unloads)
{
    if (size >= offsetof(struct dl_phdr_info, dlpi_subs) + sizeof info->dlpi_subs) {
        *loads = info->dlpi_adds;
        *unloads = info->dlpi_subs;
    }
}

/* Reads an object's .eh_frame_hdr into template; false if it has none
 * that can be searched (no table, or not the usual sorted one). */
static bool unwind_read_header(const struct dl_phdr_info *info,
                               struct unwind_object *template)
{
    const ElfW(Phdr) *frame_header = NULL;
    for (int i = 0; i < info->dlpi_phnum; i++)
        if (info->dlpi_phdr[i].p_type == PT_GNU_EH_FRAME)
            frame_header = &info->dlpi_phdr[i];
    if (frame_header == NULL)
        return false;
    uintptr_t header = info->dlpi_addr + frame_header->p_vaddr;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *segment = &info->dlpi_phdr[i];
        uintptr_t start = info->dlpi_addr + segment->p_vaddr;
        if (segment->p_type == PT_LOAD && header >= start &&
            header < start + segment->p_memsz) {
            template->data_start = (const uint8_t *)start;
            template->data_end = (const uint8_t *)start + segment->p_memsz;
        }
    }
    if (template->data_start == NULL)
        return false;
    template->header = (const uint8_t *)header;
    struct cfi_cursor cursor = {template->header, template->data_end, false};
    uint8_t version = cfi_read_byte(&cursor);
    uint8_t frame_pointer_encoding = cfi_read_byte(&cursor);
    uint8_t count_encoding = cfi_read_byte(&cursor);
    uint8_t table_encoding = cfi_read_byte(&cursor);
    if (version != 1 || table_encoding != (DW_EH_PE_datarel | DW_EH_PE_sdata4) ||
        frame_pointer_encoding == DW_EH_PE_omit || count_encoding == DW_EH_PE_omit)
        return false;
    (void)cfi_read_pointer(&cursor, frame_pointer_encoding, template->header);
    template->fde_count = (size_t)cfi_read_pointer(&cursor, count_encoding, template->header);
    template->fde_table = cursor.at;
    return !cursor.failed &&
           template->fde_count <= (size_t)(cursor.end - cursor.at) / 8;
}

/* dl_iterate_phdr callback: one entry per executable segment. */
static int unwind_add_object(struct dl_phdr_info *info, size_t size, void *context)
{
    struct unwind_build *build = context;
    unwind_note_counters(info, size, &build->loads, &build->unloads);
    struct unwind_object template = {0};
    if (!unwind_read_header(info, &template))
        return 0;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *segment = &info->dlpi_phdr[i];
        if (segment->p_type != PT_LOAD || !(segment->p_flags & PF_X))
            continue;
        if (build->count == build->capacity) {
            size_t capacity = build->capacity ? build->capacity * 2 : 32;
            struct unwind_object *objects =
                realloc(build->objects, capacity * sizeof *objects);
            if (objects == NULL) {
                build->failed = true;
                return 1;
            }
            build->objects = objects;
            build->capacity = capacity;
        }
        struct unwind_object *object = &build->objects[build->count++];
        *object = template;
        object->code_start = info->dlpi_addr + segment->p_vaddr;
        object->code_end = object->code_start + segment->p_memsz;
    }
    return 0;
}

static int unwind_compare_objects(const void *left, const void *right)
{
    uintptr_t a = ((const struct unwind_object *)left)->code_start;
    uintptr_t b = ((const struct unwind_object *)right)->code_start;
    return a < b ? -1 : a > b;
}

/* A table of the objects loaded now; NULL when out of memory. */
static struct rp_unwind_table *unwind_build_table(void)
{
    struct unwind_build build = {0};
    dl_iterate_phdr(unwind_add_object, &build);
    struct rp_unwind_table *table =
        build.failed ? NULL
                     : calloc(1, sizeof *table + build.count * sizeof *build.objects);
    if (table != NULL) {
        table->loads = build.loads;
        table->unloads = build.unloads;
        table->object_count = build.count;
        if (build.count > 0)
            memcpy(table->objects, build.objects, build.count * sizeof *build.objects);
        qsort(table->objects, table->object_count, sizeof *table->objects,
              unwind_compare_objects);
    }
    free(build.objects);
    return table;
}

/* dl_iterate_phdr callback: the counters are in every entry; one will do. */
static int unwind_read_counters(struct dl_phdr_info *info, size_t size, void *context)
{
    unsigned long long *counters = context;
    unwind_note_counters(info, size, &counters[0], &counters[1]);
    return 1;
}

void rp_unwind_sweep_begin(void)
{
    for (struct rp_unwind_table *table = unwind_retired; table; table = table->next_retired)
        table->held = false;
    struct rp_unwind_table *current = unwind_current;
    unsigned long long counters[2] = {current->loads, current->unloads};
    dl_iterate_phdr(unwind_read_counters, counters);
    if (counters[0] == current->loads && counters[1] == current->unloads)
        return;
    struct rp_unwind_table *table = unwind_build_table();
    if (table == NULL)
        return; /* out of memory: walks go on with the objects they know */
    /* Sequentially consistent, like the readers' announcements (see
     * unwind_hold): the readers looked at next see this or announced. */
    rp_atomic_store_seq_cst(&unwind_current, table);
    current->next_retired = unwind_retired;
    unwind_retired = current;
}

void rp_unwind_sweep_reader(const struct rp_unwind_reader *reader)
{
    for (int slot = 0; slot < RP_UNWIND_NESTING_MAX; slot++) {
        struct rp_unwind_table *table = rp_atomic_load_seq_cst(&reader->tables[slot]);
        if (table != NULL)
            table->held = true;
    }
}

void rp_unwind_sweep_end(void)
{
    struct rp_unwind_table **link = &unwind_retired;
    while (*link != NULL) {
        struct rp_unwind_table *table = *link;
        if (table->held) {
            link = &table->next_retired;
            continue;
        }
        *link = table->next_retired;
        free(table);
    }
}

/* dl_iterate_phdr callback: finds the object holding rp_unwind_load. */
static int unwind_find_own_code(struct dl_phdr_info *info, size_t size, void *unused)
{
    uintptr_t self = (uintptr_t)&rp_unwind_load;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *segment = &info->dlpi_phdr[i];
        if (segment->p_type != PT_LOAD || !(segment->p_flags & PF_X))
            continue;
        uintptr_t start = info->dlpi_addr + segment->p_vaddr;
        uintptr_t end = start + segment->p_memsz;
        if (self >= start && self < end) {
            own_code_start = start;
            own_code_end = end;
            return 1;
        }
    }
    return 0;
}

int rp_unwind_load(char *error, unsigned long error_size)
{
    struct rp_unwind_table *table = unwind_build_table();
    if (table == NULL) {
        snprintf(error, error_size, "out of memory reading the loaded objects' unwind tables");
        return -1;
    }
    rp_atomic_store_seq_cst(&unwind_current, table);
    dl_iterate_phdr(unwind_find_own_code, NULL);
    return 0;
}

bool rp_unwind_is_own_code(const void *address)
{
    return (uintptr_t)address >= own_code_start && (uintptr_t)address < own_code_end;
}
