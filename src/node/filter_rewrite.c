#include "filter_rewrite.h"

#include "common/cleanup.h"
#include "filter_eval.h"
#include "filter_partition.h"

#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/* Below this the install is cheap already. */
enum { MIN_WORTH_REWRITING = 64, BLOCK = 32 };

int filter_rewrite_native_arch(uint32_t *arch)
{
#if defined(__x86_64__)
	*arch = AUDIT_ARCH_X86_64;
	return 1;
#elif defined(__aarch64__)
	*arch = AUDIT_ARCH_AARCH64;
	return 1;
#else
	(void)arch;
	return 0;
#endif
}

/* The program is written backwards, from its last instruction to its first, into a buffer
 * of the kernel's maximum size: every jump goes forward, so its target is already written
 * when the jump is, and each offset is known at once. Positions count from the end: the
 * last instruction is at 1. */
struct code {
	struct sock_filter insns[BPF_MAXINSNS];
	unsigned written;
	unsigned original; /* position of the original's entry, 0 while there is none */
	bool full;
};

/* Write one instruction before the others; returns its position. */
static unsigned emit(struct code *c, uint16_t code, uint8_t jt, uint8_t jf, uint32_t k)
{
	if (c->written == BPF_MAXINSNS) {
		c->full = true;
		return c->written;
	}
	c->written++;
	c->insns[BPF_MAXINSNS - c->written] = (struct sock_filter){ code, jt, jf, k };
	return c->written;
}

/* An unconditional jump to what is at position target. */
static void emit_jump_to(struct code *c, unsigned target)
{
	emit(c, BPF_JMP | BPF_JA, 0, 0, c->written + 1 - target - 1);
}

static void emit_verdict(struct code *c, struct filter_verdict v)
{
	if (v.depends)
		emit_jump_to(c, c->original);
	else
		emit(c, BPF_RET | BPF_K, 0, 0, v.action);
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

static int build_segments(const struct filter_partition *p, struct segments *out)
{
	_cleanup_free_ uint32_t *blocks = calloc(p->n + 1, sizeof(*blocks));
	size_t n_blocks, m = 0, r = 0;
	uint64_t at = 0;

	out->p = p;
	out->s = calloc(2 * p->n + 2, sizeof(*out->s));
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

/* The two most frequent verdicts of a block (the bit test's two sides). */
static void two_majors(const struct filter_verdict *per_nr, struct filter_verdict *first,
		       struct filter_verdict *second)
{
	unsigned best = 0, next = 0;

	*first = *second = per_nr[0];
	for (unsigned i = 0; i < BLOCK; i++) {
		unsigned count = 0;
		for (unsigned j = 0; j < BLOCK; j++)
			count += same_verdict(per_nr[i], per_nr[j]);
		if (count > best) {
			if (!same_verdict(per_nr[i], *first)) {
				*second = *first;
				next = best;
			}
			*first = per_nr[i];
			best = count;
		} else if (count > next && !same_verdict(per_nr[i], *first)) {
			*second = per_nr[i];
			next = count;
		}
	}
}

/* A = nr, X = nr & 31 on entry. Numbers with a third verdict are tested one by one first:
 *   (jeq NR, 0, 1; VERDICT)*  ld #1; lsh x; jset MASK, 0, 1; MAJOR; MINOR */
static void emit_mixed_block(struct code *c, const struct filter_partition *p, const struct segment *seg)
{
	struct filter_verdict per_nr[BLOCK], major, minor;
	uint32_t mask = 0;

	for (size_t i = 0, r = seg->run; i < BLOCK; i++) {
		while (p->runs[r].last < seg->first + i)
			r++;
		per_nr[i] = p->runs[r].verdict;
	}
	two_majors(per_nr, &major, &minor);
	for (unsigned i = 0; i < BLOCK; i++)
		if (same_verdict(per_nr[i], major))
			mask |= 1U << i;
	emit_verdict(c, minor);
	emit_verdict(c, major);
	emit(c, BPF_JMP | BPF_JSET | BPF_K, 0, 1, mask);
	emit(c, BPF_ALU | BPF_LSH | BPF_X, 0, 0, 0);
	emit(c, BPF_LD | BPF_IMM, 0, 0, 1);
	for (unsigned i = BLOCK; i-- > 0;) {
		if (same_verdict(per_nr[i], major) || same_verdict(per_nr[i], minor))
			continue;
		emit_verdict(c, per_nr[i]);
		emit(c, BPF_JMP | BPF_JEQ | BPF_K, 0, 1, (uint32_t)seg->first + i);
	}
}

/* A binary search over segments [lo, hi) on A = nr: jge FIRST_OF_UPPER, then the lower half,
 * then the upper half. */
static void emit_search(struct code *c, const struct segments *segs, size_t lo, size_t hi)
{
	size_t mid = lo + (hi - lo) / 2;
	unsigned upper, lower_len;

	if (hi - lo == 1) {
		if (segs->s[lo].mixed)
			emit_mixed_block(c, segs->p, &segs->s[lo]);
		else
			emit_verdict(c, segs->s[lo].verdict);
		return;
	}
	emit_search(c, segs, mid, hi);
	upper = c->written;
	emit_search(c, segs, lo, mid);
	lower_len = c->written - upper;
	if (lower_len <= 255) {
		emit(c, BPF_JMP | BPF_JGE | BPF_K, (uint8_t)lower_len, 0, (uint32_t)segs->s[mid].first);
	} else {
		emit_jump_to(c, upper);
		emit(c, BPF_JMP | BPF_JGE | BPF_K, 0, 1, (uint32_t)segs->s[mid].first);
	}
}

/* The answer for one architecture, from the syscall number; returns its entry position. */
static int emit_dispatch(struct code *c, const struct filter_partition *p, unsigned *entry)
{
	struct segments segs = { 0 };
	bool any_mixed = false;

	if (p->n == 1) {
		emit_verdict(c, p->runs[0].verdict);
		*entry = c->written;
		return 0;
	}
	if (build_segments(p, &segs) < 0) {
		free(segs.s);
		return -1;
	}
	for (size_t i = 0; i < segs.n; i++)
		any_mixed |= segs.s[i].mixed;
	emit_search(c, &segs, 0, segs.n);
	emit(c, BPF_LD | BPF_W | BPF_ABS, 0, 0, offsetof(struct seccomp_data, nr));
	if (any_mixed) {
		emit(c, BPF_MISC | BPF_TAX, 0, 0, 0);
		emit(c, BPF_ALU | BPF_AND | BPF_K, 0, 0, BLOCK - 1);
		emit(c, BPF_LD | BPF_W | BPF_ABS, 0, 0, offsetof(struct seccomp_data, nr));
	}
	free(segs.s);
	*entry = c->written;
	return 0;
}

/* The original, entered as the kernel starts a program (A = X = 0). */
static void emit_original(struct code *c, const struct sock_filter *prog, unsigned len)
{
	for (unsigned i = len; i-- > 0;)
		emit(c, prog[i].code, prog[i].jt, prog[i].jf, prog[i].k);
	emit(c, BPF_MISC | BPF_TAX, 0, 0, 0);
	c->original = emit(c, BPF_LD | BPF_IMM, 0, 0, 0);
}

/*   ld arch; jeq NATIVE, 1, 0; ja original; <native dispatch>; ld #0; tax; <original>
 * Only the native architecture gets a dispatch: the kernel's per-number runs (the cost this
 * saves) stop at once on the other paths too, since they reach `ld #0`, which its
 * evaluator does not follow; a 32-bit or foreign syscall in the session runs the original. */
static int emit_program(struct code *c, const struct sock_filter *prog, unsigned len, uint32_t native,
			const struct filter_partition *part)
{
	unsigned entry;

	emit_original(c, prog, len);
	if (emit_dispatch(c, part, &entry) < 0)
		return -1;
	emit_jump_to(c, c->original);
	emit(c, BPF_JMP | BPF_JEQ | BPF_K, 1, 0, native);
	emit(c, BPF_LD | BPF_W | BPF_ABS, 0, 0, offsetof(struct seccomp_data, arch));
	return 0;
}

int filter_rewrite(const struct sock_filter *prog, unsigned len, uint32_t native, struct sock_filter **out,
		   unsigned *out_len)
{
	struct filter_partition part = { 0 };
	_cleanup_free_ struct code *c = NULL;
	struct filter_scratch *scratch = NULL;
	const struct sock_filter *start;
	unsigned dispatch_len;
	int rc = 0;

	*out = NULL;
	*out_len = 0;
	if (len < MIN_WORTH_REWRITING)
		return 0;
	scratch = filter_scratch_new();
	if (!scratch)
		return -1;
	/* Nothing to gain where no syscall number alone decides (every answer depends). */
	if (filter_partition_build(prog, len, native, scratch, &part) < 0 ||
	    (part.n == 1 && part.runs[0].verdict.depends))
		goto out;
	c = malloc(sizeof(*c)); /* only the part written is touched: untouched pages cost nothing */
	if (!c) {
		rc = -1;
		goto out;
	}
	c->written = c->original = 0;
	c->full = false;
	if (emit_program(c, prog, len, native, &part) < 0) {
		rc = -1;
		goto out;
	}
	start = &c->insns[BPF_MAXINSNS - c->written];
	dispatch_len = c->written - c->original;
	/* Worth it when the dispatch is small next to the program it spares the kernel from
	 * running per syscall number; and the result must be a program the kernel accepts. */
	if (c->full || dispatch_len * 2 > len || !filter_program_valid(start, c->written))
		goto out;
	*out = malloc(c->written * sizeof(**out));
	if (!*out) {
		rc = -1;
		goto out;
	}
	memcpy(*out, start, c->written * sizeof(**out));
	*out_len = c->written;
	rc = 1;
out:
	filter_partition_release(&part);
	filter_scratch_free(scratch);
	return rc;
}
