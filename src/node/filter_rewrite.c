#include "filter_rewrite.h"

#include "filter_arena.h"
#include "filter_emit.h"
#include "filter_eval.h"
#include "filter_partition.h"
#include "filter_residual.h"

#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/* Below this the install is cheap already. */
enum { MIN_WORTH_REWRITING = 64, BLOCK = 32, MAX_SHARED = 8 };

/* The scratch word holding 1 << (nr % BLOCK): computed once per dispatch, tested by every
 * mixed block. */
enum { BIT_OF_NR = 0 };

int filter_rewrite_arches(uint32_t arches[2])
{
#if defined(__x86_64__)
	arches[0] = AUDIT_ARCH_X86_64;
	arches[1] = AUDIT_ARCH_I386;
	return 1;
#elif defined(__aarch64__)
	arches[0] = AUDIT_ARCH_AARCH64;
	arches[1] = AUDIT_ARCH_ARM;
	return 1;
#else
	(void)arches;
	return 0;
#endif
}

/* One attempt at a rewrite. Self-contained: every architecture gets a dispatch, and a
 * number whose verdict depends on more gets the original specialised for it (filter_residual:
 * a few instructions); nothing else may depend. Otherwise: the native architecture gets a
 * dispatch, and whatever depends (and every other architecture) jumps to the original,
 * appended unchanged. */
struct rewrite {
	struct filter_arena *arena;
	struct filter_code *c;
	const struct sock_filter *prog;
	unsigned len;
	uint32_t arch;      /* of the dispatch being written; 0 for "every other" */
	bool self_contained;
	unsigned original;  /* position of the appended original's entry */
	unsigned residuals; /* specialisations written so far */
	bool failed;
	/* Returns written once and jumped to by every test within reach (a dispatch has a few
	 * verdicts and many tests): the kernel compiles every instruction of a filter at install,
	 * and on the attach path each one costs. */
	struct {
		uint32_t action;
		unsigned at;
	} shared[MAX_SHARED];
	unsigned n_shared;
};

/* A specialisation bigger than this, or more of them than this (each is a walk of the
 * original: a hostile filter could make thousands), and the original is appended instead. */
enum { MAX_RESIDUAL = 48, MAX_RESIDUALS = 64 };

/* Writes what answers v for first..last (a return, a jump to the appended original, or a
 * specialisation) and returns its position. */
static unsigned emit_verdict(struct rewrite *rw, struct filter_verdict v, uint64_t first, uint64_t last)
{
	unsigned entry = rw->c->written;

	if (rw->failed)
		return entry;
	if (!v.depends) {
		entry = filter_emit(rw->c, BPF_RET | BPF_K, 0, 0, v.action);
	} else if (!rw->self_contained) {
		entry = filter_emit_jump_to(rw->c, rw->original);
	} else if (first != last || rw->arch == 0 || ++rw->residuals > MAX_RESIDUALS ||
		   filter_emit_residual(rw->c, rw->prog, rw->len, rw->arch, (uint32_t)first, MAX_RESIDUAL, &entry) < 0) {
		rw->failed = true;
	}
	return entry;
}

/* Where a test jumps for v: a shared return still within a jump's reach of the code being
 * written (some slack for what comes between), else a fresh one, which becomes the shared
 * one for the tests written before it. */
enum { REACH = 200 };

static unsigned verdict_target(struct rewrite *rw, struct filter_verdict v, uint64_t first, uint64_t last)
{
	unsigned i = 0, at;

	if (v.depends)
		return emit_verdict(rw, v, first, last);
	while (i < rw->n_shared && rw->shared[i].action != v.action)
		i++;
	if (i < rw->n_shared && rw->c->written - rw->shared[i].at < REACH)
		return rw->shared[i].at;
	at = emit_verdict(rw, v, first, last);
	if (i < MAX_SHARED) {
		rw->shared[i].action = v.action;
		rw->shared[i].at = at;
		rw->n_shared += i == rw->n_shared;
	}
	return at;
}

static bool same_verdict(struct filter_verdict a, struct filter_verdict b)
{
	return a.depends == b.depends && (a.depends || a.action == b.action);
}

/* A stretch of syscall numbers the dispatch treats as one: numbers with a single verdict, or
 * one 32-number block with several. */
struct segment {
	uint64_t first, last;
	bool mixed;
	struct filter_verdict verdict; /* uniform */
	size_t run;                    /* mixed: the run holding its first number */
};

struct segments {
	const struct filter_partition *p;
	struct segment *s;
	size_t n;
};

/* Blocks that contain the start of a run somewhere other than at their own start. */
static size_t mixed_blocks(const struct filter_partition *p, uint32_t *blocks)
{
	size_t n = 0;

	for (size_t i = 1; i < p->n; i++) {
		uint32_t first = p->runs[i].first, block = first / BLOCK;
		if (first % BLOCK && (n == 0 || blocks[n - 1] != block))
			blocks[n++] = block;
	}
	return n;
}

static int build_segments(struct filter_arena *arena, const struct filter_partition *p, struct segments *out)
{
	uint32_t *blocks = filter_arena_alloc(arena, (p->n + 1) * sizeof(*blocks));
	size_t n_blocks, m = 0, r = 0;
	uint64_t at = 0;

	out->p = p;
	out->s = filter_arena_alloc(arena, (2 * p->n + 2) * sizeof(*out->s));
	out->n = 0;
	if (!blocks || !out->s)
		return -1;
	n_blocks = mixed_blocks(p, blocks);
	while (at <= UINT32_MAX) {
		struct segment *seg = &out->s[out->n++];

		if (m < n_blocks && (uint64_t)blocks[m] * BLOCK == at) {
			*seg = (struct segment){ .first = at, .last = at + BLOCK - 1, .mixed = true, .run = r };
			m++;
		} else {
			uint64_t last = p->runs[r].last;
			if (m < n_blocks && (uint64_t)blocks[m] * BLOCK - 1 < last)
				last = (uint64_t)blocks[m] * BLOCK - 1;
			*seg = (struct segment){ .first = at, .last = last, .verdict = p->runs[r].verdict };
		}
		at = seg->last + 1;
		while (r < p->n && p->runs[r].last < at)
			r++;
	}
	return 0;
}

/* The two most frequent verdicts of a block (the bit test's two sides); in a self-contained
 * rewrite, "depends" is never one of them (each such number gets its own specialisation). */
static void two_majors(const struct filter_verdict *per_nr, bool self_contained, struct filter_verdict *first,
		       struct filter_verdict *second)
{
	struct filter_verdict distinct[BLOCK];
	unsigned count[BLOCK], n = 0, best = BLOCK, next = BLOCK;

	for (unsigned i = 0; i < BLOCK; i++) {
		unsigned d = 0;
		if (self_contained && per_nr[i].depends)
			continue;
		while (d < n && !same_verdict(distinct[d], per_nr[i]))
			d++;
		if (d == n)
			distinct[n] = per_nr[i], count[n++] = 0;
		count[d]++;
	}
	for (unsigned d = 0; d < n; d++) {
		if (best == BLOCK || count[d] > count[best])
			next = best, best = d;
		else if (next == BLOCK || count[d] > count[next])
			next = d;
	}
	*first = *second = (struct filter_verdict){ false, SECCOMP_RET_KILL_PROCESS };
	if (best < BLOCK)
		*first = *second = distinct[best];
	if (next < BLOCK)
		*second = distinct[next];
}

/* A = nr and M[BIT_OF_NR] = 1 << (nr & 31) on entry. Numbers with a third verdict are
 * tested one by one first:
 *   (jeq NR, VERDICT, next)*  ld M[BIT_OF_NR]; jset MASK, MAJOR, MINOR
 * Returns the block's entry. */
static unsigned emit_mixed_block(struct rewrite *rw, const struct filter_partition *p, const struct segment *seg)
{
	struct filter_verdict per_nr[BLOCK], major, minor;
	uint32_t mask = 0;
	unsigned next, major_at, minor_at;

	for (size_t i = 0, r = seg->run; i < BLOCK; i++) {
		while (p->runs[r].last < seg->first + i)
			r++;
		per_nr[i] = p->runs[r].verdict;
	}
	two_majors(per_nr, rw->self_contained, &major, &minor);
	for (unsigned i = 0; i < BLOCK; i++)
		if (same_verdict(per_nr[i], major))
			mask |= 1U << i;
	minor_at = verdict_target(rw, minor, seg->first, seg->last);
	major_at = verdict_target(rw, major, seg->first, seg->last);
	filter_emit_branch(rw->c, BPF_JMP | BPF_JSET | BPF_K, mask, major_at, minor_at);
	next = filter_emit(rw->c, BPF_LD | BPF_MEM, 0, 0, BIT_OF_NR);
	for (unsigned i = BLOCK; i-- > 0;) {
		unsigned verdict;
		if (same_verdict(per_nr[i], major) || same_verdict(per_nr[i], minor))
			continue;
		verdict = verdict_target(rw, per_nr[i], seg->first + i, seg->first + i);
		next = filter_emit_branch(rw->c, BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)seg->first + i, verdict, next);
	}
	return next;
}

/* A binary search over segments [lo, hi) on A = nr: jge FIRST_OF_UPPER, then the lower half,
 * then the upper half. Returns its entry. */
static unsigned emit_search(struct rewrite *rw, const struct segments *segs, size_t lo, size_t hi)
{
	size_t mid = lo + (hi - lo) / 2;
	unsigned upper, lower;

	if (hi - lo == 1) {
		if (segs->s[lo].mixed)
			return emit_mixed_block(rw, segs->p, &segs->s[lo]);
		return verdict_target(rw, segs->s[lo].verdict, segs->s[lo].first, segs->s[lo].last);
	}
	upper = emit_search(rw, segs, mid, hi);
	lower = emit_search(rw, segs, lo, mid);
	return filter_emit_branch(rw->c, BPF_JMP | BPF_JGE | BPF_K, (uint32_t)segs->s[mid].first, upper, lower);
}

/* The answer for one architecture, from the syscall number; returns its entry position. */
static int emit_dispatch(struct rewrite *rw, const struct filter_partition *p, uint32_t arch, unsigned *entry)
{
	struct segments segs = { 0 };
	bool any_mixed = false;
	unsigned search;

	rw->arch = arch;
	if (p->n == 1) {
		emit_verdict(rw, p->runs[0].verdict, 0, UINT32_MAX);
		*entry = rw->c->written;
		return rw->failed ? -1 : 0;
	}
	if (build_segments(rw->arena, p, &segs) < 0)
		return -1;
	for (size_t i = 0; i < segs.n; i++)
		any_mixed |= segs.s[i].mixed;
	rw->n_shared = 0;
	search = emit_search(rw, &segs, 0, segs.n);
	if (search != rw->c->written)
		filter_emit_jump_to(rw->c, search);
	/*   ld nr; and #31; tax; ld #1; lsh x; st M[BIT_OF_NR]; ld nr; <search> */
	filter_emit(rw->c, BPF_LD | BPF_W | BPF_ABS, 0, 0, offsetof(struct seccomp_data, nr));
	if (any_mixed) {
		filter_emit(rw->c, BPF_ST, 0, 0, BIT_OF_NR);
		filter_emit(rw->c, BPF_ALU | BPF_LSH | BPF_X, 0, 0, 0);
		filter_emit(rw->c, BPF_LD | BPF_IMM, 0, 0, 1);
		filter_emit(rw->c, BPF_MISC | BPF_TAX, 0, 0, 0);
		filter_emit(rw->c, BPF_ALU | BPF_AND | BPF_K, 0, 0, BLOCK - 1);
		filter_emit(rw->c, BPF_LD | BPF_W | BPF_ABS, 0, 0, offsetof(struct seccomp_data, nr));
	}
	*entry = rw->c->written;
	return rw->failed ? -1 : 0;
}

enum { NATIVE, COMPAT, OTHER, N_ARCH_CLASSES };

/* The original, entered as the kernel starts a program (A = X = 0). */
static void emit_original(struct rewrite *rw)
{
	for (unsigned i = rw->len; i-- > 0;)
		filter_emit(rw->c, rw->prog[i].code, rw->prog[i].jt, rw->prog[i].jf, rw->prog[i].k);
	filter_emit(rw->c, BPF_MISC | BPF_TAX, 0, 0, 0);
	rw->original = filter_emit(rw->c, BPF_LD | BPF_IMM, 0, 0, 0);
}

/*   ld arch; jeq NATIVE, 0, 1; ja native; jeq COMPAT, 0, 1; ja compat; <other arches>
 *   <native> <compat>                                       (self-contained)
 *   ld arch; jeq NATIVE, 1, 0; ja original; <native>; ld #0; tax; <original>
 * In the second form only the native architecture gets a dispatch: the kernel's per-number
 * runs (the cost this saves) stop at once on the other paths too, at `ld #0`, which its
 * evaluator does not follow. */
static int emit_program(struct rewrite *rw, const uint32_t arches[2],
			const struct filter_partition parts[N_ARCH_CLASSES])
{
	unsigned entry[N_ARCH_CLASSES];

	if (!rw->self_contained) {
		emit_original(rw);
		if (emit_dispatch(rw, &parts[NATIVE], arches[NATIVE], &entry[NATIVE]) < 0)
			return -1;
		filter_emit_jump_to(rw->c, rw->original);
		filter_emit(rw->c, BPF_JMP | BPF_JEQ | BPF_K, 1, 0, arches[NATIVE]);
	} else {
		for (int w = COMPAT; w >= NATIVE; w--)
			if (emit_dispatch(rw, &parts[w], arches[w], &entry[w]) < 0)
				return -1;
		if (emit_dispatch(rw, &parts[OTHER], 0, &entry[OTHER]) < 0)
			return -1;
		filter_emit_jump_to(rw->c, entry[COMPAT]);
		filter_emit(rw->c, BPF_JMP | BPF_JEQ | BPF_K, 0, 1, arches[COMPAT]);
		filter_emit_jump_to(rw->c, entry[NATIVE]);
		filter_emit(rw->c, BPF_JMP | BPF_JEQ | BPF_K, 0, 1, arches[NATIVE]);
	}
	filter_emit(rw->c, BPF_LD | BPF_W | BPF_ABS, 0, 0, offsetof(struct seccomp_data, arch));
	return rw->c->full ? -1 : 0;
}

/* Worth it when the dispatch is small next to the program it spares the kernel from running
 * per syscall number; and the result must be a program the kernel accepts. */
static bool worth_it(const struct rewrite *rw)
{
	unsigned dispatch = rw->c->written - (rw->self_contained ? 0 : rw->original);

	return dispatch * 2 <= rw->len && filter_program_valid(filter_code_start(rw->c), rw->c->written);
}

static int build_partitions(struct filter_arena *arena, const struct sock_filter *prog, unsigned len,
			    const uint32_t arches[2], struct filter_partition parts[N_ARCH_CLASSES])
{
	struct filter_scratch *scratch = filter_scratch_new(arena);

	if (!scratch)
		return -1;
	for (int w = 0; w < N_ARCH_CLASSES; w++) {
		struct filter_arch arch = { .other = w == OTHER, .arch = w == OTHER ? 0 : arches[w],
					    .known = { arches[0], arches[1] } };
		if (filter_partition_build(prog, len, &arch, scratch, &parts[w]) < 0)
			return -1;
	}
	return 0;
}

int filter_rewrite(const struct sock_filter *prog, unsigned len, const uint32_t arches[2], struct sock_filter **out,
		   unsigned *out_len)
{
	struct filter_partition parts[N_ARCH_CLASSES] = { 0 };
	__attribute__((cleanup(filter_arena_freep))) struct filter_arena *arena = NULL;
	struct filter_code *c;
	struct rewrite rw = { .prog = prog, .len = len };
	int rc = 0;

	*out = NULL;
	*out_len = 0;
	if (len < MIN_WORTH_REWRITING)
		return 0;
	arena = filter_arena_new();
	c = arena ? filter_arena_alloc(arena, sizeof(*c)) : NULL; /* untouched pages cost nothing */
	if (!c)
		return -1;
	rw.arena = arena;
	rw.c = c;
	/* Nothing to gain where no syscall number alone decides (every answer depends). */
	if (build_partitions(arena, prog, len, arches, parts) < 0 ||
	    (parts[NATIVE].n == 1 && parts[NATIVE].runs[0].verdict.depends))
		return 0;
	for (int attempt = 0; attempt < 2 && !*out; attempt++) {
		rw.self_contained = attempt == 0;
		rw.failed = c->full = false;
		rw.residuals = 0;
		c->written = 0;
		if (emit_program(&rw, arches, parts) < 0 || !worth_it(&rw))
			continue;
		*out = malloc(c->written * sizeof(**out));
		if (!*out)
			return -1;
		memcpy(*out, filter_code_start(c), c->written * sizeof(**out));
		*out_len = c->written;
		rc = 1;
	}
	return rc;
}
