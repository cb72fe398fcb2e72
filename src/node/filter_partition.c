#include "filter_partition.h"

#include "filter_arena.h"
#include "filter_eval.h"

#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stdlib.h>
#include <string.h>

/* Budgets: a program the kernel accepts has at most 4096 instructions, and the filters
 * runtimes generate take a few thousand steps here; a hostile target's filter that would
 * take more is simply kept as it is. */
enum { MAX_STEPS = 1 << 18, MAX_PENDING = 2048, MAX_FORKS = 8192, MAX_RESULTS = 8192 };

/* VALUE_ARCH: the architecture, when the partition is for "every other one". */
enum value_kind { VALUE_CONST, VALUE_NR, VALUE_ARCH, VALUE_UNKNOWN };

struct value {
	enum value_kind kind;
	uint32_t c;
};

/* Numbers taken out of a path's range by a failed equality test; lists share their tails
 * (indices into analysis.nodes, NO_NODE ends a list). */
#define NO_NODE UINT32_MAX

struct excluded {
	uint32_t nr;
	uint32_t next;
};

/* One way through the program: the registers, and the syscall numbers that take it: lo..hi
 * minus the excluded list. */
struct path {
	unsigned pc;
	struct value a, x, mem[BPF_MEMWORDS];
	uint64_t lo, hi;
	uint32_t out;
	uint64_t count; /* how many numbers take the path (kept up to date: scanning costs) */
	uint32_t out_min, out_max; /* bounds of the excluded list: runtimes compare in order */
};

struct result {
	uint32_t lo, hi;
	struct filter_verdict verdict;
};

/* The analysis' working memory: one allocation, reused by the partitions of a program. Its
 * arrays are sized to the budgets; only the part used is ever touched (each fresh page is a
 * fault, and an attach pays for every one). */
struct filter_scratch {
	struct filter_arena *arena; /* for the partitions' runs */
	struct path stack[MAX_PENDING];
	struct excluded nodes[MAX_FORKS];
	struct result results[MAX_RESULTS];
};

struct analysis {
	const struct sock_filter *prog;
	unsigned len;
	const struct filter_arch *arch;
	struct filter_scratch *mem;
	size_t depth, n_nodes, n_results, steps;
};

struct filter_scratch *filter_scratch_new(struct filter_arena *arena)
{
	struct filter_scratch *s = filter_arena_alloc(arena, sizeof(*s));

	if (s)
		s->arena = arena;
	return s;
}

static bool is_excluded(const struct analysis *an, uint32_t e, uint64_t nr)
{
	for (; e != NO_NODE; e = an->mem->nodes[e].next)
		if (an->mem->nodes[e].nr == nr)
			return true;
	return false;
}

static bool is_member(const struct analysis *an, const struct path *p, uint64_t nr)
{
	if (nr < p->lo || nr > p->hi)
		return false;
	return p->out == NO_NODE || nr < p->out_min || nr > p->out_max || !is_excluded(an, p->out, nr);
}

static uint64_t cardinality(const struct analysis *an, uint64_t lo, uint64_t hi, uint32_t out)
{
	uint64_t n;

	if (lo > hi)
		return 0;
	n = hi - lo + 1;
	for (uint32_t e = out; e != NO_NODE; e = an->mem->nodes[e].next)
		if (an->mem->nodes[e].nr >= lo && an->mem->nodes[e].nr <= hi)
			n--;
	return n;
}

static int add_result(struct analysis *an, const struct path *p, bool depends, uint32_t action)
{
	if (an->n_results == MAX_RESULTS)
		return -1;
	an->mem->results[an->n_results++] =
		(struct result){ (uint32_t)p->lo, (uint32_t)p->hi, { depends, depends ? 0 : action } };
	return 0;
}

/* A copy of p on the stack of pending paths, or NULL over budget. */
static struct path *push(struct analysis *an, const struct path *p)
{
	if (an->depth == MAX_PENDING)
		return NULL;
	an->mem->stack[an->depth] = *p;
	return &an->mem->stack[an->depth++];
}

static int exclude(struct analysis *an, struct path *p, uint32_t nr)
{
	if (an->n_nodes == MAX_FORKS)
		return -1;
	if (p->out == NO_NODE || nr < p->out_min)
		p->out_min = nr;
	if (p->out == NO_NODE || nr > p->out_max)
		p->out_max = nr;
	an->mem->nodes[an->n_nodes] = (struct excluded){ nr, p->out };
	p->out = (uint32_t)an->n_nodes++;
	return 0;
}

/* A conditional jump on the syscall number against v: the path splits in the numbers that
 * take the jump (continued in *p) and those that do not (pushed). Returns 1 when *p has no
 * number left (it ends), 0 to continue, -1 over budget. */
static int split_on_nr(struct analysis *an, struct path *p, uint16_t op, uint32_t v, unsigned taken_pc,
		       unsigned fallthrough_pc)
{
	bool member = is_member(an, p, v);
	uint64_t t_lo = p->lo, t_hi = p->hi, f_lo = p->lo, f_hi = p->hi, t_count, f_count;
	uint32_t t_out = p->out;

	switch (op) {
	case BPF_JEQ:
		t_lo = t_hi = v;
		t_out = NO_NODE;
		if (!member)
			t_lo = 1, t_hi = 0;
		break;
	case BPF_JGT:
		t_lo = v == UINT32_MAX ? (uint64_t)UINT32_MAX + 1 : (t_lo > (uint64_t)v + 1 ? t_lo : (uint64_t)v + 1);
		if (f_hi > v)
			f_hi = v;
		break;
	default: /* BPF_JGE */
		if (t_lo < v)
			t_lo = v;
		if (v == 0)
			f_lo = 1, f_hi = 0;
		else if (f_hi > (uint64_t)v - 1)
			f_hi = (uint64_t)v - 1;
		break;
	}
	t_count = op == BPF_JEQ ? member : cardinality(an, t_lo, t_hi, t_out);
	f_count = op == BPF_JEQ ? p->count - member : cardinality(an, f_lo, f_hi, p->out);
	/* Go on with the taken side, keep the other for later: in a chain of equality tests the
	 * taken side soon returns, so the stack of pending paths stays short. */
	if (f_count > 0) {
		struct path *f = push(an, p);
		if (!f || (op == BPF_JEQ && member && exclude(an, f, v) < 0))
			return -1;
		f->lo = f_lo, f->hi = f_hi, f->count = f_count, f->pc = fallthrough_pc;
	}
	p->lo = t_lo, p->hi = t_hi, p->out = t_out, p->count = t_count, p->pc = taken_pc;
	return t_count > 0 ? 0 : 1;
}

/* JSET on the syscall number with mask v: within aligned blocks of 2^(lowest bit of v)
 * numbers, nr & v is constant, so the path splits into one piece per block it spans (a
 * few for the usual high-bit tests such as libseccomp's x32 check, nr & 0x40000000).
 * Returns 0 when the pieces were pushed (this path ends), 1 when there would be too many
 * (the caller records "depends"), -1 over budget. */
enum { MAX_JSET_PIECES = 64 };

static int split_on_bits(struct analysis *an, const struct path *p, uint32_t v, unsigned taken_pc,
			 unsigned fallthrough_pc)
{
	unsigned shift = v ? (unsigned)__builtin_ctz(v) : 31;
	uint64_t first = p->lo >> shift, last = p->hi >> shift;

	if (v == 0 || last - first + 1 > MAX_JSET_PIECES)
		return 1;
	for (uint64_t q = first; q <= last; q++) {
		struct path piece = *p;
		uint64_t start = q << shift, end = ((q + 1) << shift) - 1;

		piece.lo = start > p->lo ? start : p->lo;
		piece.hi = end < p->hi ? end : p->hi;
		piece.pc = (start & v) ? taken_pc : fallthrough_pc;
		piece.count = cardinality(an, piece.lo, piece.hi, piece.out);
		if (piece.count > 0 && !push(an, &piece))
			return -1;
	}
	return 0;
}

/* The single number of a path that has one (for a JSET on the number). */
static uint32_t only_member(const struct analysis *an, const struct path *p)
{
	uint64_t nr = p->lo;

	while (is_excluded(an, p->out, nr))
		nr++;
	return (uint32_t)nr;
}

static bool arch_is_known(const struct filter_arch *arch, uint32_t v)
{
	return v == arch->known[0] || v == arch->known[1];
}

enum step { STEP_NEXT, STEP_END, STEP_OVER_BUDGET };

static enum step step_alu(struct analysis *an, struct path *p, const struct sock_filter *in)
{
	uint16_t op = BPF_OP(in->code);
	struct value v = BPF_SRC(in->code) == BPF_X ? p->x : (struct value){ VALUE_CONST, in->k };

	/* A division by a register that may be zero ends the program with 0 at run time. */
	if ((op == BPF_DIV || op == BPF_MOD) && v.kind != VALUE_CONST)
		return add_result(an, p, true, 0) < 0 ? STEP_OVER_BUDGET : STEP_END;
	if (p->a.kind == VALUE_CONST && (v.kind == VALUE_CONST || op == BPF_NEG)) {
		if (!filter_alu(op, &p->a.c, v.c))
			return add_result(an, p, false, 0) < 0 ? STEP_OVER_BUDGET : STEP_END;
	} else if ((op == BPF_DIV || op == BPF_MOD) && v.c == 0) {
		return add_result(an, p, false, 0) < 0 ? STEP_OVER_BUDGET : STEP_END;
	} else {
		p->a.kind = VALUE_UNKNOWN;
	}
	p->pc++;
	return STEP_NEXT;
}

static enum step step_jump(struct analysis *an, struct path *p, const struct sock_filter *in)
{
	uint16_t op = BPF_OP(in->code);
	struct value v = BPF_SRC(in->code) == BPF_X ? p->x : (struct value){ VALUE_CONST, in->k };
	unsigned taken = p->pc + 1 + in->jt, not_taken = p->pc + 1 + in->jf;
	int rc;

	if (op == BPF_JA) {
		p->pc += 1 + in->k;
		return STEP_NEXT;
	}
	if (p->a.kind == VALUE_CONST && v.kind == VALUE_CONST) {
		p->pc = filter_jump_taken(op, p->a.c, v.c) ? taken : not_taken;
		return STEP_NEXT;
	}
	if (p->a.kind == VALUE_NR && v.kind == VALUE_CONST && op != BPF_JSET) {
		rc = split_on_nr(an, p, op, v.c, taken, not_taken);
		return rc < 0 ? STEP_OVER_BUDGET : rc ? STEP_END : STEP_NEXT;
	}
	if (p->a.kind == VALUE_NR && v.kind == VALUE_CONST && p->count == 1) {
		p->pc = filter_jump_taken(op, only_member(an, p), v.c) ? taken : not_taken;
		return STEP_NEXT;
	}
	if (p->a.kind == VALUE_NR && v.kind == VALUE_CONST) {
		rc = split_on_bits(an, p, v.c, taken, not_taken);
		if (rc <= 0)
			return rc < 0 ? STEP_OVER_BUDGET : STEP_END;
	}
	/* Any other architecture: a test against a known one fails; anything else depends. */
	if (p->a.kind == VALUE_ARCH && v.kind == VALUE_CONST && op == BPF_JEQ && arch_is_known(an->arch, v.c)) {
		p->pc = not_taken;
		return STEP_NEXT;
	}
	return add_result(an, p, true, 0) < 0 ? STEP_OVER_BUDGET : STEP_END;
}

static struct value loaded_word(const struct analysis *an, uint32_t k)
{
	if (k == offsetof(struct seccomp_data, nr))
		return (struct value){ VALUE_NR, 0 };
	if (k == offsetof(struct seccomp_data, arch))
		return an->arch->other ? (struct value){ VALUE_ARCH, 0 } : (struct value){ VALUE_CONST, an->arch->arch };
	return (struct value){ VALUE_UNKNOWN, 0 };
}

static struct value *load_target(struct path *p, const struct sock_filter *in)
{
	return BPF_CLASS(in->code) == BPF_LD ? &p->a : &p->x;
}

static enum step step(struct analysis *an, struct path *p)
{
	const struct sock_filter *in = &an->prog[p->pc];

	switch (BPF_CLASS(in->code)) {
	case BPF_LD:
	case BPF_LDX:
		if (BPF_MODE(in->code) == BPF_ABS)
			*load_target(p, in) = loaded_word(an, in->k);
		else if (BPF_MODE(in->code) == BPF_IMM)
			*load_target(p, in) = (struct value){ VALUE_CONST, in->k };
		else if (BPF_MODE(in->code) == BPF_LEN)
			*load_target(p, in) = (struct value){ VALUE_CONST, sizeof(struct seccomp_data) };
		else
			*load_target(p, in) = p->mem[in->k % BPF_MEMWORDS];
		break;
	case BPF_ST:
		p->mem[in->k % BPF_MEMWORDS] = p->a;
		break;
	case BPF_STX:
		p->mem[in->k % BPF_MEMWORDS] = p->x;
		break;
	case BPF_MISC:
		if (BPF_MISCOP(in->code) == BPF_TAX)
			p->x = p->a;
		else
			p->a = p->x;
		break;
	case BPF_ALU:
		return step_alu(an, p, in);
	case BPF_JMP:
		return step_jump(an, p, in);
	default: /* BPF_RET */
		if (BPF_RVAL(in->code) == BPF_K)
			return add_result(an, p, false, in->k) < 0 ? STEP_OVER_BUDGET : STEP_END;
		return add_result(an, p, p->a.kind != VALUE_CONST, p->a.c) < 0 ? STEP_OVER_BUDGET : STEP_END;
	}
	p->pc++;
	return STEP_NEXT;
}

static int explore(struct analysis *an)
{
	struct path start = { .pc = 0, .a = { VALUE_CONST, 0 }, .x = { VALUE_CONST, 0 }, .lo = 0, .hi = UINT32_MAX,
			      .out = NO_NODE, .count = (uint64_t)UINT32_MAX + 1 };

	for (int i = 0; i < BPF_MEMWORDS; i++)
		start.mem[i].kind = VALUE_UNKNOWN;
	if (!push(an, &start))
		return -1;
	while (an->depth > 0) {
		struct path p = an->mem->stack[--an->depth];
		enum step s = STEP_NEXT;

		while (s == STEP_NEXT) {
			/* A valid program ends in a RET, so a path never runs off the end. */
			if (p.pc >= an->len || ++an->steps > MAX_STEPS)
				return -1;
			s = step(an, &p);
		}
		if (s == STEP_OVER_BUDGET)
			return -1;
	}
	return 0;
}

/* Results by their first number: a merge sort (libc's qsort calls a comparator per step; the
 * results of a chain come nearly in order, and this is on the attach path). */
static void sort_by_lo(struct result *res, size_t n, struct result *tmp)
{
	for (size_t width = 1; width < n; width *= 2) {
		for (size_t lo = 0; lo < n; lo += 2 * width) {
			size_t mid = lo + width < n ? lo + width : n, hi = lo + 2 * width < n ? lo + 2 * width : n;
			size_t a = lo, b = mid, k = lo;

			if (mid == hi || res[mid - 1].lo <= res[mid].lo)
				continue; /* already in order */
			while (a < mid && b < hi)
				tmp[k++] = res[b].lo < res[a].lo ? res[b++] : res[a++];
			while (a < mid)
				tmp[k++] = res[a++];
			while (b < hi)
				tmp[k++] = res[b++];
			memcpy(res + lo, tmp + lo, (hi - lo) * sizeof(*res));
		}
	}
}

static bool same_verdict(struct filter_verdict a, struct filter_verdict b)
{
	return a.depends == b.depends && (a.depends || a.action == b.action);
}

static void append_run(struct filter_partition *out, uint64_t first, uint64_t last, struct filter_verdict v)
{
	if (out->n > 0 && same_verdict(out->runs[out->n - 1].verdict, v) &&
	    (uint64_t)out->runs[out->n - 1].last + 1 == first) {
		out->runs[out->n - 1].last = (uint32_t)last;
		return;
	}
	out->runs[out->n++] = (struct filter_run){ (uint32_t)first, (uint32_t)last, v };
}

/* A range with its points (sorted, inside it) cut out and put in their place. Two paths
 * for one number would be a fault of the analysis: -1, and the program is kept. */
static int append_range(struct filter_partition *out, uint64_t first, uint64_t last, struct filter_verdict v,
			const struct result *points, size_t n_points, size_t *next_point)
{
	uint64_t at = first;

	for (; *next_point < n_points && points[*next_point].lo <= last; (*next_point)++) {
		const struct result *pt = &points[*next_point];
		if (pt->lo < at)
			return -1;
		if (pt->lo > at)
			append_run(out, at, pt->lo - 1, v);
		append_run(out, pt->lo, pt->lo, pt->verdict);
		at = (uint64_t)pt->lo + 1;
	}
	if (at <= last)
		append_run(out, at, last, v);
	return 0;
}

/* Paths are disjoint sets of numbers: ranges never overlap one another, and every number a
 * range excludes is some single-number path, which replaces it there. A number no path
 * claims (none should be) keeps the original program. Sorts res in place. */
static int paint(struct filter_arena *arena, struct result *res, size_t n, struct filter_partition *out)
{
	static const struct filter_verdict unclaimed = { true, 0 };
	size_t n_points = 0, next_point = 0;
	struct result *ranges;
	uint64_t at = 0;
	struct result *merge = filter_arena_alloc(arena, (n + 1) * sizeof(*merge));

	out->runs = filter_arena_alloc(arena, (2 * n + 2) * sizeof(*out->runs));
	if (!out->runs || !merge)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (res[i].lo == res[i].hi) {
			struct result swap = res[n_points];
			res[n_points++] = res[i];
			res[i] = swap;
		}
	}
	ranges = res + n_points;
	sort_by_lo(res, n_points, merge);
	sort_by_lo(ranges, n - n_points, merge);
	for (size_t i = 0; i < n - n_points; i++) {
		if (ranges[i].lo < at)
			return -1; /* overlapping paths: the analysis went wrong; keep the program */
		if (ranges[i].lo > at &&
		    append_range(out, at, (uint64_t)ranges[i].lo - 1, unclaimed, res, n_points, &next_point) < 0)
			return -1;
		if (append_range(out, ranges[i].lo, ranges[i].hi, ranges[i].verdict, res, n_points, &next_point) < 0)
			return -1;
		at = (uint64_t)ranges[i].hi + 1;
	}
	if (at <= UINT32_MAX && append_range(out, at, UINT32_MAX, unclaimed, res, n_points, &next_point) < 0)
		return -1;
	return next_point == n_points ? 0 : -1;
}

int filter_partition_build(const struct sock_filter *prog, unsigned len, const struct filter_arch *arch,
			   struct filter_scratch *scratch, struct filter_partition *out)
{
	struct analysis an = { .prog = prog, .len = len, .arch = arch, .mem = scratch };
	int rc = -1;

	memset(out, 0, sizeof(*out));
	if (len > 0 && explore(&an) == 0)
		rc = paint(scratch->arena, an.mem->results, an.n_results, out);
	if (rc < 0)
		memset(out, 0, sizeof(*out));
	return rc;
}
