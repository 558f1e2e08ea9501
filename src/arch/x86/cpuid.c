#define LOG_TAG "cpuid"
#include "arch/x86/cpuid.h"

#include <errno.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>

#include "vmm/log.h"

#define CPUID_1_ECX_TSC_DEADLINE (1u << 24)
#define CPUID_1_ECX_HYPERVISOR (1u << 31)
#define CPUID_1_EDX_HTT (1u << 28)
#define CPUID_80000001_ECX_CMP_LEGACY (1u << 1)
#define KVM_CPUID_SIGNATURE 0x40000000
#define KVM_CPUID_FEATURES 0x40000001

struct kvm_cpuid2 *x86_cpuid_supported(int kvm_fd)
{
	for (unsigned int nent = 128; nent <= 4096; nent *= 2) {
		struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + nent * sizeof(c->entries[0]));

		if (!c)
			return NULL;
		c->nent = nent;
		if (ioctl(kvm_fd, KVM_GET_SUPPORTED_CPUID, c) == 0)
			return c;
		free(c);
		if (errno != E2BIG) {
			log_error("KVM_GET_SUPPORTED_CPUID: %s", strerror(errno));
			return NULL;
		}
	}
	return NULL;
}

struct kvm_cpuid_entry2 *x86_cpuid_find(struct kvm_cpuid2 *cpuid, unsigned int function,
					unsigned int index)
{
	for (unsigned int i = 0; i < cpuid->nent; i++) {
		struct kvm_cpuid_entry2 *e = &cpuid->entries[i];

		if (e->function == function && e->index == index)
			return e;
	}
	return NULL;
}

/* Bits needed to number `n` things. */
static unsigned int bits_for(unsigned int n)
{
	unsigned int b = 0;

	while ((1u << b) < n)
		b++;
	return b;
}

/* Extended topology (0xB, 0x1F): one thread per core, nr cores a package. */
static void topology_leaf(struct kvm_cpuid_entry2 *e, unsigned int id, unsigned int nr)
{
	e->edx = id;
	switch (e->index) {
	case 0: /* SMT level */
		e->eax = 0;
		e->ebx = 1;
		e->ecx = (1u << 8) | e->index;
		break;
	case 1: /* core level */
		e->eax = bits_for(nr);
		e->ebx = nr;
		e->ecx = (2u << 8) | e->index;
		break;
	default: /* invalid level ends the enumeration */
		e->eax = e->ebx = 0;
		e->ecx = e->index;
		break;
	}
}

/* XSAVE components and the CPUID feature bit that must back each one. */
static bool xfeature_backed(struct kvm_cpuid2 *cpuid, unsigned int bit)
{
	struct kvm_cpuid_entry2 *l1 = x86_cpuid_find(cpuid, 0x1, 0);
	struct kvm_cpuid_entry2 *l7 = x86_cpuid_find(cpuid, 0x7, 0);
	uint32_t l1_ecx = l1 ? l1->ecx : 0, l7_ebx = l7 ? l7->ebx : 0, l7_ecx = l7 ? l7->ecx : 0;

	switch (bit) {
	case 0: case 1: return true;                /* x87, SSE */
	case 2: return l1_ecx & (1u << 28);         /* AVX */
	case 3: case 4: return l7_ebx & (1u << 14); /* MPX */
	case 5: case 6: case 7: return l7_ebx & (1u << 16); /* AVX-512 */
	case 9: return l7_ecx & (1u << 3);          /* PKRU */
	default: return true; /* supervisor or newer states: leave to KVM */
	}
}

/* KVM can advertise XSAVE components whose feature flag it does not (seen
 * with nested KVM on an emulated CPU): the guest then disagrees with CPUID
 * about the XSAVE area size and warns.  Drop such components and recompute
 * the sizes the guest checks. */
static void sanitize_xsave(struct kvm_cpuid2 *cpuid)
{
	struct kvm_cpuid_entry2 *d0 = x86_cpuid_find(cpuid, 0xd, 0);
	uint32_t max_size = 512 + 64; /* legacy area and XSAVE header */

	if (!d0)
		return;
	for (unsigned int bit = 2; bit < 32; bit++) {
		struct kvm_cpuid_entry2 *sub;

		if (!(d0->eax & (1u << bit)))
			continue;
		sub = x86_cpuid_find(cpuid, 0xd, bit);
		if (!xfeature_backed(cpuid, bit)) {
			d0->eax &= ~(1u << bit);
			if (sub)
				sub->eax = sub->ebx = sub->ecx = sub->edx = 0;
			continue;
		}
		if (sub && sub->eax + sub->ebx > max_size)
			max_size = sub->eax + sub->ebx;
	}
	d0->ecx = max_size;
	d0->ebx = 512 + 64; /* for XCR0 = x87 at reset; KVM updates it */
}

void x86_cpuid_adjust(struct kvm_cpuid2 *cpuid, unsigned int id, unsigned int nr,
		      bool tsc_deadline)
{
	sanitize_xsave(cpuid);
	unsigned int per_pkg = nr > 255 ? 255 : nr;

	for (unsigned int i = 0; i < cpuid->nent; i++) {
		struct kvm_cpuid_entry2 *e = &cpuid->entries[i];

		switch (e->function) {
		case 0x1:
			e->ebx = (e->ebx & 0x0000ffffu) | (per_pkg << 16) | (id << 24);
			e->ecx |= CPUID_1_ECX_HYPERVISOR;
			if (tsc_deadline)
				e->ecx |= CPUID_1_ECX_TSC_DEADLINE;
			if (nr > 1)
				e->edx |= CPUID_1_EDX_HTT;
			else
				e->edx &= ~CPUID_1_EDX_HTT;
			break;
		case 0x4: {
			/* Cores per package; only the last level cache is shared. */
			unsigned int cores = nr > 64 ? 64 : nr;
			unsigned int level = (e->eax >> 5) & 7;
			unsigned int sharing = level >= 3 ? cores - 1 : 0;

			if ((e->eax & 0x1f) == 0)
				break; /* no more caches */
			e->eax = (e->eax & 0x3fffu) | ((sharing & 0xfff) << 14) | ((cores - 1) << 26);
			break;
		}
		case 0xb:
		case 0x1f:
			topology_leaf(e, id, nr);
			break;
		case KVM_CPUID_SIGNATURE:
			/* "KVMKVMKVM\0\0\0": the guest turns on kvm-clock & co. */
			e->eax = KVM_CPUID_FEATURES;
			e->ebx = 0x4b4d564b;
			e->ecx = 0x564b4d56;
			e->edx = 0x4d;
			break;
		case 0x80000001:
			if (nr > 1)
				e->ecx |= CPUID_80000001_ECX_CMP_LEGACY;
			break;
		case 0x80000008:
			e->ecx = (e->ecx & ~0xf0ffu) | (bits_for(nr) << 12) | ((nr - 1) & 0xff);
			break;
		case 0x8000001e:
			e->eax = id;
			e->ebx = id & 0xff; /* core id; one thread per core */
			e->ecx = 0;         /* one node */
			break;
		default:
			break;
		}
	}
}
