#include "filter_eval.h"

#include <linux/filter.h>
#include <stddef.h>
#include <string.h>

static uint32_t data_word(const struct seccomp_data *d, uint32_t off)
{
	uint32_t w;

	memcpy(&w, (const unsigned char *)d + off, sizeof(w));
	return w;
}

bool filter_alu(uint16_t op, uint32_t *a, uint32_t v)
{
	switch (op) {
	case BPF_ADD: *a += v; break;
	case BPF_SUB: *a -= v; break;
	case BPF_MUL: *a *= v; break;
	case BPF_DIV:
		if (v == 0)
			return false;
		*a /= v;
		break;
	case BPF_MOD:
		if (v == 0)
			return false;
		*a %= v;
		break;
	case BPF_OR: *a |= v; break;
	case BPF_AND: *a &= v; break;
	case BPF_XOR: *a ^= v; break;
	case BPF_LSH: *a <<= (v & 31); break;
	case BPF_RSH: *a >>= (v & 31); break;
	case BPF_NEG: *a = -*a; break;
	default: return false;
	}
	return true;
}

bool filter_jump_taken(uint16_t op, uint32_t a, uint32_t v)
{
	switch (op) {
	case BPF_JEQ: return a == v;
	case BPF_JGT: return a > v;
	case BPF_JGE: return a >= v;
	default: return (a & v) != 0; /* BPF_JSET */
	}
}

/* LD or LDX into *to; false for a load seccomp does not have (packet loads, LDX ABS). */
static bool load(const struct sock_filter *in, const struct seccomp_data *d, const uint32_t *mem, uint32_t *to)
{
	uint32_t k = in->k;

	if (BPF_MODE(in->code) == BPF_ABS && BPF_CLASS(in->code) == BPF_LD && k < sizeof(*d) && !(k & 3))
		*to = data_word(d, k);
	else if (BPF_MODE(in->code) == BPF_IMM)
		*to = k;
	else if (BPF_MODE(in->code) == BPF_MEM && k < BPF_MEMWORDS)
		*to = mem[k];
	else if (BPF_MODE(in->code) == BPF_LEN)
		*to = sizeof(*d);
	else
		return false;
	return true;
}

uint32_t filter_eval(const struct sock_filter *prog, unsigned len, const struct seccomp_data *d)
{
	uint32_t a = 0, x = 0, mem[BPF_MEMWORDS] = { 0 };

	for (unsigned pc = 0; pc < len; pc++) {
		const struct sock_filter *in = &prog[pc];
		uint32_t k = in->k;

		switch (BPF_CLASS(in->code)) {
		case BPF_LD:
		case BPF_LDX:
			if (!load(in, d, mem, BPF_CLASS(in->code) == BPF_LD ? &a : &x))
				return 0;
			break;
		case BPF_ST:
		case BPF_STX:
			if (k >= BPF_MEMWORDS)
				return 0;
			mem[k] = BPF_CLASS(in->code) == BPF_ST ? a : x;
			break;
		case BPF_ALU:
			if (!filter_alu(BPF_OP(in->code), &a, BPF_SRC(in->code) == BPF_X ? x : k))
				return 0;
			break;
		case BPF_JMP:
			if (BPF_OP(in->code) == BPF_JA)
				pc += k;
			else
				pc += filter_jump_taken(BPF_OP(in->code), a, BPF_SRC(in->code) == BPF_X ? x : k) ? in->jt : in->jf;
			break;
		case BPF_RET:
			return BPF_RVAL(in->code) == BPF_A ? a : k;
		case BPF_MISC:
			if (BPF_MISCOP(in->code) == BPF_TAX)
				x = a;
			else
				a = x;
			break;
		}
	}
	return 0;
}

/* seccomp_check_filter's list: what a seccomp program may contain (no packet loads, no MOD). */
static bool opcode_allowed(uint16_t code)
{
	static const uint16_t allowed[] = {
		BPF_LD | BPF_W | BPF_ABS, BPF_LD | BPF_W | BPF_LEN, BPF_LDX | BPF_W | BPF_LEN,
		BPF_LD | BPF_IMM, BPF_LDX | BPF_IMM, BPF_LD | BPF_MEM, BPF_LDX | BPF_MEM, BPF_ST, BPF_STX,
		BPF_RET | BPF_K, BPF_RET | BPF_A, BPF_MISC | BPF_TAX, BPF_MISC | BPF_TXA,
		BPF_ALU | BPF_ADD | BPF_K, BPF_ALU | BPF_ADD | BPF_X, BPF_ALU | BPF_SUB | BPF_K,
		BPF_ALU | BPF_SUB | BPF_X, BPF_ALU | BPF_MUL | BPF_K, BPF_ALU | BPF_MUL | BPF_X,
		BPF_ALU | BPF_DIV | BPF_K, BPF_ALU | BPF_DIV | BPF_X, BPF_ALU | BPF_AND | BPF_K,
		BPF_ALU | BPF_AND | BPF_X, BPF_ALU | BPF_OR | BPF_K, BPF_ALU | BPF_OR | BPF_X,
		BPF_ALU | BPF_XOR | BPF_K, BPF_ALU | BPF_XOR | BPF_X, BPF_ALU | BPF_LSH | BPF_K,
		BPF_ALU | BPF_LSH | BPF_X, BPF_ALU | BPF_RSH | BPF_K, BPF_ALU | BPF_RSH | BPF_X,
		BPF_ALU | BPF_NEG, BPF_JMP | BPF_JA, BPF_JMP | BPF_JEQ | BPF_K, BPF_JMP | BPF_JEQ | BPF_X,
		BPF_JMP | BPF_JGE | BPF_K, BPF_JMP | BPF_JGE | BPF_X, BPF_JMP | BPF_JGT | BPF_K,
		BPF_JMP | BPF_JGT | BPF_X, BPF_JMP | BPF_JSET | BPF_K, BPF_JMP | BPF_JSET | BPF_X,
	};

	for (size_t i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++)
		if (allowed[i] == code)
			return true;
	return false;
}

static bool operands_valid(const struct sock_filter *in, unsigned pc, unsigned len)
{
	uint16_t code = in->code;

	if (code == (BPF_LD | BPF_W | BPF_ABS))
		return in->k < sizeof(struct seccomp_data) && !(in->k & 3);
	if (code == (BPF_ALU | BPF_DIV | BPF_K))
		return in->k != 0;
	if (code == (BPF_ALU | BPF_LSH | BPF_K) || code == (BPF_ALU | BPF_RSH | BPF_K))
		return in->k < 32;
	if (code == (BPF_LD | BPF_MEM) || code == (BPF_LDX | BPF_MEM) || code == BPF_ST || code == BPF_STX)
		return in->k < BPF_MEMWORDS;
	if (code == (BPF_JMP | BPF_JA))
		return in->k < len - pc - 1;
	if (BPF_CLASS(code) == BPF_JMP)
		return pc + in->jt + 1 < len && pc + in->jf + 1 < len;
	return true;
}

/* bpf_check_classic's check_load_and_stores: every scratch word is stored on every path
 * before it is loaded (the same conservative dataflow as the kernel's). */
static bool scratch_initialised(const struct sock_filter *prog, unsigned len)
{
	uint16_t masks[BPF_MAXINSNS], valid = 0;

	memset(masks, 0xff, sizeof(masks));
	for (unsigned pc = 0; pc < len; pc++) {
		const struct sock_filter *in = &prog[pc];

		valid &= masks[pc];
		if (in->code == BPF_ST || in->code == BPF_STX)
			valid |= (uint16_t)(1U << in->k);
		else if ((in->code == (BPF_LD | BPF_MEM) || in->code == (BPF_LDX | BPF_MEM)) && !(valid & (1U << in->k)))
			return false;
		else if (in->code == (BPF_JMP | BPF_JA)) {
			masks[pc + 1 + in->k] &= valid;
			valid = 0xffff;
		} else if (BPF_CLASS(in->code) == BPF_JMP) {
			masks[pc + 1 + in->jt] &= valid;
			masks[pc + 1 + in->jf] &= valid;
			valid = 0xffff;
		}
	}
	return true;
}

bool filter_program_valid(const struct sock_filter *prog, unsigned len)
{
	if (len == 0 || len > BPF_MAXINSNS)
		return false;
	for (unsigned pc = 0; pc < len; pc++)
		if (!opcode_allowed(prog[pc].code) || !operands_valid(&prog[pc], pc, len))
			return false;
	return BPF_CLASS(prog[len - 1].code) == BPF_RET && scratch_initialised(prog, len);
}
