#include "filter_emit.h"

unsigned filter_emit(struct filter_code *c, uint16_t code, uint8_t jt, uint8_t jf, uint32_t k)
{
	if (c->written == BPF_MAXINSNS) {
		c->full = true;
		return c->written;
	}
	c->written++;
	c->insns[BPF_MAXINSNS - c->written] = (struct sock_filter){ code, jt, jf, k };
	return c->written;
}

unsigned filter_emit_jump_to(struct filter_code *c, unsigned target)
{
	return filter_emit(c, BPF_JMP | BPF_JA, 0, 0, c->written + 1 - target - 1);
}

unsigned filter_emit_branch(struct filter_code *c, uint16_t code, uint32_t k, unsigned taken, unsigned not_taken)
{
	unsigned at = c->written + 1;

	if (at - taken - 1 <= 255 && at - not_taken - 1 <= 255)
		return filter_emit(c, code, (uint8_t)(at - taken - 1), (uint8_t)(at - not_taken - 1), k);
	/*   jcond k, 0, 1; ja taken; ja not_taken */
	not_taken = filter_emit_jump_to(c, not_taken);
	taken = filter_emit_jump_to(c, taken);
	return filter_emit(c, code, 0, 1, k);
}
