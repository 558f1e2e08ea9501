/* Guest physical memory: the one bounds-checked API every device uses.
 *
 * Guest RAM is a single anonymous mapping split into at most a few regions
 * (below and above the 32-bit MMIO hole).  Devices never compute host
 * pointers themselves: they ask for a pointer to a whole [gpa, gpa+len) range,
 * or for an iovec list, and get NULL / -EFAULT when any byte of it is outside
 * RAM or the arithmetic would overflow. */
#ifndef SARDINE_GUEST_MEM_H
#define SARDINE_GUEST_MEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#define GUEST_MEM_MAX_REGIONS 4

struct guest_region {
	uint64_t gpa;
	uint64_t size;
	uint8_t *hva;
};

struct guest_mem {
	struct guest_region region[GUEST_MEM_MAX_REGIONS];
	unsigned int nr_regions;
	uint8_t *map_base; /* the whole anonymous mapping */
	size_t map_size;
	uint64_t ram_size;
};

struct guest_mem_layout {
	uint64_t ram_size;
	uint64_t hole_start; /* RAM above this guest address moves to hole_end */
	uint64_t hole_end;
	bool mergeable;      /* MADV_MERGEABLE for KSM */
	bool hugepages;      /* MADV_HUGEPAGE (THP) */
};


int guest_mem_init(struct guest_mem *gm, const struct guest_mem_layout *layout);
void guest_mem_destroy(struct guest_mem *gm);

/* Host pointer for [gpa, gpa + len) if the whole range lies in one region. */
static inline void *gm_ptr(const struct guest_mem *gm, uint64_t gpa, uint64_t len)
{
	for (unsigned int i = 0; i < gm->nr_regions; i++) {
		const struct guest_region *r = &gm->region[i];
		uint64_t off = gpa - r->gpa;

		/* Unsigned wrap makes off huge when gpa < r->gpa. */
		if (off < r->size && len <= r->size - off)
			return r->hva + off;
	}
	return NULL;
}

static inline bool gm_range_valid(const struct guest_mem *gm, uint64_t gpa, uint64_t len)
{
	return gm_ptr(gm, gpa, len) != NULL;
}

int gm_read(const struct guest_mem *gm, uint64_t gpa, void *dst, size_t len);
int gm_write(const struct guest_mem *gm, uint64_t gpa, const void *src, size_t len);

/* Translate [gpa, gpa+len) into at most max iovecs appended at iov[*n];
 * the range may span regions.  -EFAULT when a byte is outside RAM, -E2BIG
 * when more than max segments would be needed; *n is left unchanged on error. */
int gm_to_iov(const struct guest_mem *gm, uint64_t gpa, uint64_t len, struct iovec *iov,
	      unsigned int max, unsigned int *n);

/* Fill [gpa, gpa+len) with the file's bytes from `offset`.  Copied, never
 * mapped: a file mapping in guest RAM is backed by 4 KiB page-cache pages,
 * so KVM maps it with small nested pages for the guest's whole life (one
 * nested fault per page at boot, TLB pressure after), where copied data
 * sits in 2 MiB pages like the rest of RAM.
 * The destination must be fresh guest RAM (all zero, as vm_create maps it):
 * pages of the file that are all zero are not written at all, so they cost
 * no fault and no host memory until the guest writes them (a vmlinux is
 * about half zero pages: .bss, .brk, padding). */
int gm_load_file(const struct guest_mem *gm, int fd, uint64_t offset, uint64_t gpa,
		 uint64_t len);

/* Give a page-aligned range back to the host (balloon, free page reporting). */
int gm_discard(const struct guest_mem *gm, uint64_t gpa, uint64_t len);

/* Guest address of a host pointer inside guest RAM, or -1 (for tests). */
uint64_t gm_gpa_of(const struct guest_mem *gm, const void *hva);

#endif
