/* The seccomp rewrite (src/node/filter_rewrite.c) runs on filters a target installed on
 * itself: a hostile container chooses them. The input is turned into a program the kernel
 * would accept (forward jumps in range, whole-word loads of seccomp_data, scratch memory
 * stored before it is read, a RET last); if the rewrite takes it, its output must be a valid
 * program that answers like the original for every architecture and syscall number the
 * program mentions (and their neighbours), with the input's own argument values. */
#include "fuzz.h"

#include "node/filter_eval.h"
#include "node/filter_rewrite.h"

#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>

/* What a generated instruction may be; loads of the number and the architecture are the
 * common case, as in the filters runtimes write. */
static const uint16_t opcodes[] = {
	BPF_LD | BPF_W | BPF_ABS, BPF_LD | BPF_W | BPF_ABS, BPF_LD | BPF_W | BPF_ABS,
	BPF_JMP | BPF_JEQ | BPF_K, BPF_JMP | BPF_JEQ | BPF_K, BPF_JMP | BPF_JEQ | BPF_K,
	BPF_JMP | BPF_JGT | BPF_K, BPF_JMP | BPF_JGE | BPF_K, BPF_JMP | BPF_JSET | BPF_K,
	BPF_JMP | BPF_JEQ | BPF_X, BPF_JMP | BPF_JGT | BPF_X, BPF_JMP | BPF_JA,
	BPF_RET | BPF_K, BPF_RET | BPF_K, BPF_RET | BPF_A, BPF_LD | BPF_IMM, BPF_LDX | BPF_IMM,
	BPF_ALU | BPF_ADD | BPF_K, BPF_ALU | BPF_AND | BPF_K, BPF_ALU | BPF_DIV | BPF_X,
	BPF_ALU | BPF_LSH | BPF_X, BPF_ALU | BPF_NEG, BPF_MISC | BPF_TAX, BPF_MISC | BPF_TXA,
	BPF_ST, BPF_LD | BPF_MEM, BPF_LD | BPF_W | BPF_LEN,
};

struct reader {
	const uint8_t *p;
	size_t left;
};

static uint32_t take(struct reader *r, unsigned bytes)
{
	uint32_t v = 0;

	for (unsigned i = 0; i < bytes && r->left; i++, r->left--)
		v = v << 8 | *r->p++;
	return v;
}

static uint32_t constant(struct reader *r, uint32_t native)
{
	static const uint32_t common[] = { 0, 1, 59, 0x40000000, 0x7E020000, SECCOMP_RET_ALLOW,
					   SECCOMP_RET_ERRNO | 1, AUDIT_ARCH_I386, UINT32_MAX };
	uint32_t pick = take(r, 1);

	if (pick < 64)
		return pick;
	if (pick < 160)
		return pick % 2 ? native : common[pick % (sizeof(common) / sizeof(common[0]))];
	return take(r, 4);
}

static unsigned generate(struct reader *r, struct sock_filter *prog, uint32_t native)
{
	unsigned len = 64 + take(r, 1) % 192;

	for (unsigned pc = 0; pc < len; pc++) {
		struct sock_filter *in = &prog[pc];
		unsigned room = len - pc - 1;

		in->code = pc == len - 1 ? BPF_RET | BPF_K : opcodes[take(r, 1) % (sizeof(opcodes) / sizeof(opcodes[0]))];
		in->jt = in->jf = 0;
		in->k = constant(r, native);
		if (in->code == (BPF_LD | BPF_W | BPF_ABS))
			in->k = (take(r, 1) % 3 == 0 ? take(r, 1) % 16 : take(r, 1) % 2) * 4;
		else if (in->code == BPF_ST || in->code == (BPF_LD | BPF_MEM))
			in->k = take(r, 1) % 2;
		else if (in->code == (BPF_JMP | BPF_JA))
			in->k = room ? take(r, 1) % room : 0;
		else if (BPF_CLASS(in->code) == BPF_JMP) {
			unsigned span = room < 256 ? room : 256;
			in->jt = (uint8_t)(span ? take(r, 1) % span : 0);
			in->jf = (uint8_t)(span ? take(r, 1) % span : 0);
		}
		if (BPF_CLASS(in->code) == BPF_JMP && room == 0)
			in->code = BPF_RET | BPF_K;
	}
	return len;
}

static void compare(const struct sock_filter *a, unsigned alen, const struct sock_filter *b, unsigned blen,
		    uint32_t native, uint64_t arg)
{
	uint32_t arches[] = { native, AUDIT_ARCH_I386, 0, UINT32_MAX };

	for (size_t ai = 0; ai < sizeof(arches) / sizeof(arches[0]); ai++)
		for (unsigned i = 0; i < alen; i++)
			for (int delta = -1; delta <= 1; delta++) {
				struct seccomp_data d = { .nr = (int)(a[i].k + (uint32_t)delta), .arch = arches[ai],
							  .instruction_pointer = arg };
				for (int j = 0; j < 6; j++)
					d.args[j] = arg;
				if (filter_eval(a, alen, &d) != filter_eval(b, blen, &d))
					abort();
			}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct sock_filter prog[BPF_MAXINSNS];
	struct reader r = { data, size };
	struct sock_filter *out = NULL;
	unsigned len, out_len = 0;
	uint32_t arches[2], native;
	uint64_t arg;

	if (!filter_rewrite_arches(arches))
		return 0;
	native = arches[0];
	arg = (uint64_t)take(&r, 4) << 32 | take(&r, 4);
	len = generate(&r, prog, native);
	if (!filter_program_valid(prog, len))
		return 0;
	if (filter_rewrite(prog, len, arches, &out, &out_len) != 1)
		return 0;
	if (!filter_program_valid(out, out_len))
		abort();
	compare(prog, len, out, out_len, native, arg);
	compare(prog, len, out, out_len, native, 0);
	free(out);
	return 0;
}
