#include "filter_residual.h"

#include "filter_emit.h"
#include "filter_eval.h"

#include <linux/seccomp.h>
#include <stddef.h>
#include <string.h>

/* Per specialisation: instructions walked (a program that forks on an argument again and
 * again duplicates what follows each fork). */
enum { MAX_STEPS = 4096, MAX_STRAIGHT = 64 };

/* A register or scratch word: known (the walk computed it) or only known at run time (the
 * residual program computes it: every instruction that produces it was written). */
struct slot {
	bool known;
	uint32_t c;
};

struct regs {
	struct slot a, x, mem[BPF_MEMWORDS];
};

struct walk {
	struct filter_code *c;
	const struct sock_filter *prog;
	unsigned len, steps, floor;
	uint32_t arch, nr;
};

/* The instructions of one straight stretch, written out once its end is known. */
struct straight {
	struct sock_filter insns[MAX_STRAIGHT];
	unsigned n;
};

static int keep(struct straight *s, uint16_t code, uint32_t k)
{
	if (s->n == MAX_STRAIGHT)
		return -1;
	s->insns[s->n++] = (struct sock_filter){ code, 0, 0, k };
	return 0;
}

static unsigned flush(struct walk *w, const struct straight *s, unsigned next)
{
	for (unsigned i = s->n; i-- > 0;)
		next = filter_emit(w->c, s->insns[i].code, 0, 0, s->insns[i].k);
	return next;
}

static int walk_from(struct walk *w, unsigned pc, struct regs r, unsigned *entry);

/* A = op(A, v). Returns 1 when the program ends here with 0 (a division by zero). */
static int step_alu(struct straight *s, struct regs *r, const struct sock_filter *in)
{
	uint16_t op = BPF_OP(in->code);
	struct slot v = BPF_SRC(in->code) == BPF_X ? r->x : (struct slot){ true, in->k };

	if (op == BPF_NEG && r->a.known)
		return filter_alu(op, &r->a.c, 0), 0;
	if (r->a.known && v.known)
		return filter_alu(op, &r->a.c, v.c) ? 0 : 1;
	if (v.known && op == BPF_DIV && v.c == 0)
		return 1;
	if (r->a.known && keep(s, BPF_LD | BPF_IMM, r->a.c) < 0)
		return -1;
	r->a.known = false;
	if (op == BPF_NEG)
		return keep(s, BPF_ALU | BPF_NEG, 0);
	if (v.known) /* a known X becomes a constant operand; shifts by X use its low 5 bits */
		return keep(s, BPF_ALU | op | BPF_K, (op == BPF_LSH || op == BPF_RSH) ? v.c & 31 : v.c);
	return keep(s, BPF_ALU | op | BPF_X, 0);
}

/* The end of a straight stretch at a conditional jump neither value decides. */
static int fork_here(struct walk *w, struct straight *s, struct regs r, const struct sock_filter *in, unsigned pc,
		     unsigned *entry)
{
	uint16_t op = BPF_OP(in->code);
	struct slot v = BPF_SRC(in->code) == BPF_X ? r.x : (struct slot){ true, in->k };
	unsigned yes, no;

	if (r.a.known && keep(s, BPF_LD | BPF_IMM, r.a.c) < 0)
		return -1;
	if (walk_from(w, pc + 1 + in->jf, r, &no) < 0 || walk_from(w, pc + 1 + in->jt, r, &yes) < 0)
		return -1;
	if (v.known)
		*entry = filter_emit_branch(w->c, BPF_JMP | op | BPF_K, v.c, yes, no);
	else
		*entry = filter_emit_branch(w->c, BPF_JMP | op | BPF_X, 0, yes, no);
	*entry = flush(w, s, *entry);
	return 0;
}

static struct slot *loaded(struct regs *r, const struct sock_filter *in)
{
	return BPF_CLASS(in->code) == BPF_LD ? &r->a : &r->x;
}

/* Walk the program from pc with registers r, writing what the run-time values need. */
static int walk_from(struct walk *w, unsigned pc, struct regs r, unsigned *entry)
{
	struct straight s = { .n = 0 };

	for (;; pc++) {
		const struct sock_filter *in;
		int rc;

		if (pc >= w->len || ++w->steps > MAX_STEPS || w->c->written - w->floor > MAX_STEPS)
			return -1;
		in = &w->prog[pc];
		switch (BPF_CLASS(in->code)) {
		case BPF_LD:
		case BPF_LDX:
			if (BPF_MODE(in->code) == BPF_ABS && in->k == offsetof(struct seccomp_data, nr))
				*loaded(&r, in) = (struct slot){ true, w->nr };
			else if (BPF_MODE(in->code) == BPF_ABS && in->k == offsetof(struct seccomp_data, arch))
				*loaded(&r, in) = (struct slot){ true, w->arch };
			else if (BPF_MODE(in->code) == BPF_IMM)
				*loaded(&r, in) = (struct slot){ true, in->k };
			else if (BPF_MODE(in->code) == BPF_LEN)
				*loaded(&r, in) = (struct slot){ true, sizeof(struct seccomp_data) };
			else if (BPF_MODE(in->code) == BPF_MEM && r.mem[in->k % BPF_MEMWORDS].known)
				*loaded(&r, in) = r.mem[in->k % BPF_MEMWORDS];
			else if (keep(&s, in->code, in->k) < 0) /* an argument, the ip, a run-time word */
				return -1;
			else
				*loaded(&r, in) = (struct slot){ false, 0 };
			break;
		case BPF_ST:
		case BPF_STX: {
			struct slot v = BPF_CLASS(in->code) == BPF_ST ? r.a : r.x;
			if (!v.known && keep(&s, in->code, in->k) < 0)
				return -1;
			r.mem[in->k % BPF_MEMWORDS] = v;
			break;
		}
		case BPF_MISC:
			if (BPF_MISCOP(in->code) == BPF_TAX) {
				if (!r.a.known && keep(&s, in->code, 0) < 0)
					return -1;
				r.x = r.a;
			} else {
				if (!r.x.known && keep(&s, in->code, 0) < 0)
					return -1;
				r.a = r.x;
			}
			break;
		case BPF_ALU:
			rc = step_alu(&s, &r, in);
			if (rc < 0)
				return -1;
			if (rc > 0) {
				*entry = flush(w, &s, filter_emit(w->c, BPF_RET | BPF_K, 0, 0, 0));
				return 0;
			}
			break;
		case BPF_JMP: {
			struct slot v = BPF_SRC(in->code) == BPF_X ? r.x : (struct slot){ true, in->k };
			if (BPF_OP(in->code) == BPF_JA) {
				pc += in->k;
				break;
			}
			if (r.a.known && v.known) {
				pc += filter_jump_taken(BPF_OP(in->code), r.a.c, v.c) ? in->jt : in->jf;
				break;
			}
			return fork_here(w, &s, r, in, pc, entry);
		}
		default: /* BPF_RET */
			if (BPF_RVAL(in->code) == BPF_K || r.a.known)
				*entry = filter_emit(w->c, BPF_RET | BPF_K, 0, 0, BPF_RVAL(in->code) == BPF_K ? in->k : r.a.c);
			else
				*entry = filter_emit(w->c, BPF_RET | BPF_A, 0, 0, 0);
			*entry = flush(w, &s, *entry);
			return 0;
		}
	}
}

int filter_emit_residual(struct filter_code *c, const struct sock_filter *prog, unsigned len, uint32_t arch,
			 uint32_t nr, unsigned max_len, unsigned *entry)
{
	struct walk w = { .c = c, .prog = prog, .len = len, .floor = c->written, .arch = arch, .nr = nr };
	struct regs start = { .a = { true, 0 }, .x = { true, 0 } };

	if (walk_from(&w, 0, start, entry) < 0 || c->full || c->written - w.floor > max_len) {
		c->written = w.floor;
		c->full = false;
		return -1;
	}
	return 0;
}
