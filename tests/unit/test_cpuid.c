/* Per-vCPU CPUID adjustment. */
#include <linux/kvm.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "arch/x86/cpuid.h"

static struct kvm_cpuid2 *sample(void)
{
	static const struct kvm_cpuid_entry2 base[] = {
		{ .function = 0x1, .ebx = 0x00000800, .ecx = 0, .edx = 0 },
		{ .function = 0xb, .index = 0 },
		{ .function = 0xb, .index = 1 },
		{ .function = 0xb, .index = 2 },
		{ .function = 0x40000000 },
		{ .function = 0x80000008, .ecx = 0x3007 },
	};
	size_t n = sizeof(base) / sizeof(base[0]);
	struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + n * sizeof(c->entries[0]));

	c->nent = (uint32_t)n;
	for (size_t i = 0; i < n; i++)
		c->entries[i] = base[i];
	return c;
}

static void apic_ids_and_topology(void **state)
{
	struct kvm_cpuid2 *c = sample();
	struct kvm_cpuid_entry2 *e;

	(void)state;
	x86_cpuid_adjust(c, 5, 8, true);
	e = x86_cpuid_find(c, 0x1, 0);
	assert_int_equal(e->ebx >> 24, 5);
	assert_int_equal((e->ebx >> 16) & 0xff, 8);
	assert_int_equal((e->ebx >> 8) & 0xff, 8); /* CLFLUSH kept */
	assert_true(e->ecx & (1u << 31));          /* hypervisor */
	assert_true(e->ecx & (1u << 24));          /* TSC deadline */
	assert_true(e->edx & (1u << 28));          /* HTT */
	e = x86_cpuid_find(c, 0xb, 1);
	assert_int_equal(e->eax, 3);
	assert_int_equal(e->ebx, 8);
	assert_int_equal(e->edx, 5);
	assert_int_equal((e->ecx >> 8) & 0xff, 2);
	e = x86_cpuid_find(c, 0xb, 2);
	assert_int_equal((e->ecx >> 8) & 0xff, 0);
	e = x86_cpuid_find(c, 0x80000008, 0);
	assert_int_equal(e->ecx & 0xff, 7);
	assert_int_equal((e->ecx >> 12) & 0xf, 3);
	free(c);
}

static void kvm_signature(void **state)
{
	struct kvm_cpuid2 *c = sample();
	struct kvm_cpuid_entry2 *e;
	char sig[13] = { 0 };

	(void)state;
	x86_cpuid_adjust(c, 0, 1, false);
	e = x86_cpuid_find(c, 0x40000000, 0);
	memcpy(sig, &e->ebx, 4);
	memcpy(sig + 4, &e->ecx, 4);
	memcpy(sig + 8, &e->edx, 4);
	assert_string_equal(sig, "KVMKVMKVM");
	e = x86_cpuid_find(c, 0x1, 0);
	assert_false(e->edx & (1u << 28)); /* one CPU: no HTT */
	assert_false(e->ecx & (1u << 24));
	free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(apic_ids_and_topology),
		cmocka_unit_test(kvm_signature),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
