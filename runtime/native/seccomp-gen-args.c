/*
 * Allow-lists of argument values, written as libseccomp rules. The filter's default is to allow,
 * and a libseccomp rule may compare an argument only once, so "every value but these" becomes
 * rules that each refuse one aligned block of the values between two allowed ones, as a CIDR list
 * covers an address range (value & ~(size - 1)) == start), and one rule refusing everything above
 * the highest allowed value. Unknown values are so refused by construction: a value the kernel
 * gains later is refused until someone adds it to a list.
 */
#include <stdio.h>
#include <string.h>

#include "seccomp-gen.h"

static int add_rule(scmp_filter_ctx ctx, const struct arg_allow_list *l, struct scmp_arg_cmp cmp)
{
	struct scmp_arg_cmp cmps[2] = { cmp };
	unsigned int n = 1;
	if (l->when)
		cmps[n++] = *l->when;
	int rc = seccomp_rule_add_array(ctx, SCMP_ACT_ERRNO(l->errnum), l->syscall, n, cmps);
	if (rc)
		fprintf(stderr, "seccomp-gen: %s: seccomp_rule_add(arg %u, 0x%llx, 0x%llx): %s\n", l->what, cmp.arg,
			(unsigned long long)cmp.datum_a, (unsigned long long)cmp.datum_b, strerror(-rc));
	return rc;
}

/* Refuses the values lo..hi (within the mask) in aligned blocks, largest first. */
static int refuse_range(scmp_filter_ctx ctx, const struct arg_allow_list *l, uint64_t lo, uint64_t hi)
{
	uint64_t bits = l->mask ? l->mask : UINT64_MAX;
	for (;;) {
		uint64_t size = lo ? lo & -lo : (uint64_t)1 << 63;
		while (size - 1 > hi - lo)
			size >>= 1;
		int rc = add_rule(ctx, l, SCMP_CMP(l->arg, SCMP_CMP_MASKED_EQ, bits & ~(size - 1), lo));
		if (rc || hi - lo == size - 1)
			return rc;
		lo += size;
	}
}

static int check_list(const struct arg_allow_list *l)
{
	int bad = l->count == 0 || (l->mask & (l->mask + 1)) != 0 || (l->when && l->when->arg == l->arg);
	for (size_t i = 0; i < l->count && !bad; i++)
		bad = (i > 0 && l->values[i] <= l->values[i - 1]) || (l->mask && l->values[i] > l->mask) ||
		      l->values[i] == UINT64_MAX;
	if (bad)
		fprintf(stderr, "seccomp-gen: %s: the allow-list must be ascending, within its mask, and not empty\n", l->what);
	return bad ? -22 /* -EINVAL */ : 0;
}

int refuse_values_outside(scmp_filter_ctx ctx, const struct arg_allow_list *l)
{
	int rc = check_list(l);
	uint64_t next = 0; /* the lowest value not yet allowed or refused */
	for (size_t i = 0; i < l->count && !rc; i++) {
		if (l->values[i] > next)
			rc = refuse_range(ctx, l, next, l->values[i] - 1);
		next = l->values[i] + 1;
	}
	if (rc)
		return rc;
	if (!l->mask)
		return add_rule(ctx, l, SCMP_CMP(l->arg, SCMP_CMP_GT, l->values[l->count - 1]));
	return next <= l->mask ? refuse_range(ctx, l, next, l->mask) : 0;
}

/* For a flags argument the kernel reads as 32 bits: any bit outside `allowed` refuses the call. */
int refuse_bits_outside(scmp_filter_ctx ctx, const char *what, int syscall, int errnum, unsigned int arg, uint32_t allowed)
{
	for (unsigned int b = 0; b < 32; b++) {
		uint64_t bit = (uint64_t)1 << b;
		if (allowed & bit)
			continue;
		int rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(errnum), syscall, 1, SCMP_CMP(arg, SCMP_CMP_MASKED_EQ, bit, bit));
		if (rc) {
			fprintf(stderr, "seccomp-gen: %s: seccomp_rule_add(bit %u): %s\n", what, b, strerror(-rc));
			return rc;
		}
	}
	return 0;
}
