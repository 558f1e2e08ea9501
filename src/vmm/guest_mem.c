#define LOG_TAG "mem"
#include "vmm/guest_mem.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "vmm/log.h"

#define HUGE_PAGE_SIZE (2ULL << 20)
#define GM_PAGE_SIZE 4096ULL
/* Small enough to stay in the CPU cache between pread and copy. */
#define GM_LOAD_CHUNK (256ULL << 10)

/* Guest RAM starts on a 2 MiB boundary.  KVM maps a guest 2 MiB frame with
 * one large nested page only when its host address is aligned the same
 * way; otherwise every guest page costs its own nested fault and TLB entry,
 * even where the host backs it with a transparent huge page.  Kernels
 * before 6.7 do not align large anonymous mappings by themselves.
 * NORESERVE: guests may be overcommitted; pages are only charged when
 * touched, and the balloon gives them back. */
static void *map_aligned(uint64_t size)
{
	uint64_t span = size + HUGE_PAGE_SIZE;
	uint8_t *raw, *base;
	uint64_t head;

	raw = mmap(NULL, span, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (raw == MAP_FAILED)
		return MAP_FAILED;
	base = (uint8_t *)(((uintptr_t)raw + HUGE_PAGE_SIZE - 1) & ~(uintptr_t)(HUGE_PAGE_SIZE - 1));
	head = (uint64_t)(base - raw);
	if (head)
		munmap(raw, head);
	if (span - head - size)
		munmap(base + size, span - head - size);
	return base;
}

int guest_mem_init(struct guest_mem *gm, const struct guest_mem_layout *layout)
{
	uint64_t low, high;
	void *base;

	memset(gm, 0, sizeof(*gm));
	if (layout->ram_size == 0 || layout->hole_start > layout->hole_end)
		return -EINVAL;
	low = layout->ram_size < layout->hole_start ? layout->ram_size : layout->hole_start;
	high = layout->ram_size - low;

	base = map_aligned(layout->ram_size);
	if (base == MAP_FAILED) {
		int err = -errno;

		log_error("cannot map %llu MiB of guest RAM: %s",
			  (unsigned long long)(layout->ram_size >> 20), strerror(errno));
		return err;
	}
	/* Advice is best effort: a host without THP or KSM still runs guests. */
	if (layout->hugepages && madvise(base, layout->ram_size, MADV_HUGEPAGE) < 0)
		log_debug("MADV_HUGEPAGE: %s", strerror(errno));
	if (layout->mergeable && madvise(base, layout->ram_size, MADV_MERGEABLE) < 0)
		log_debug("MADV_MERGEABLE: %s", strerror(errno));
	/* Guest RAM has no place in a core dump of sardine. */
	madvise(base, layout->ram_size, MADV_DONTDUMP);

	gm->map_base = base;
	gm->map_size = layout->ram_size;
	gm->ram_size = layout->ram_size;
	gm->region[0] = (struct guest_region){ .gpa = 0, .size = low, .hva = base };
	gm->nr_regions = 1;
	if (high) {
		gm->region[1] = (struct guest_region){
			.gpa = layout->hole_end, .size = high, .hva = (uint8_t *)base + low
		};
		gm->nr_regions = 2;
	}
	return 0;
}

void guest_mem_destroy(struct guest_mem *gm)
{
	if (gm->map_base)
		munmap(gm->map_base, gm->map_size);
	memset(gm, 0, sizeof(*gm));
}

int gm_read(const struct guest_mem *gm, uint64_t gpa, void *dst, size_t len)
{
	const void *src = gm_ptr(gm, gpa, len);

	if (!src)
		return -EFAULT;
	memcpy(dst, src, len);
	return 0;
}

int gm_write(const struct guest_mem *gm, uint64_t gpa, const void *src, size_t len)
{
	void *dst = gm_ptr(gm, gpa, len);

	if (!dst)
		return -EFAULT;
	memcpy(dst, src, len);
	return 0;
}

static const struct guest_region *region_of(const struct guest_mem *gm, uint64_t gpa)
{
	for (unsigned int i = 0; i < gm->nr_regions; i++)
		if (gpa - gm->region[i].gpa < gm->region[i].size)
			return &gm->region[i];
	return NULL;
}

int gm_to_iov(const struct guest_mem *gm, uint64_t gpa, uint64_t len, struct iovec *iov,
	      unsigned int max, unsigned int *n)
{
	unsigned int count = *n;

	if (gpa + len < gpa)
		return -EFAULT;
	while (len) {
		const struct guest_region *r = region_of(gm, gpa);
		uint64_t off, chunk;

		if (!r)
			return -EFAULT;
		if (count >= max)
			return -E2BIG;
		off = gpa - r->gpa;
		chunk = r->size - off < len ? r->size - off : len;
		iov[count].iov_base = r->hva + off;
		iov[count].iov_len = chunk;
		count++;
		gpa += chunk;
		len -= chunk;
	}
	*n = count;
	return 0;
}

static int pread_all(int fd, uint8_t *dst, uint64_t len, uint64_t off)
{
	while (len) {
		ssize_t n = pread(fd, dst, len, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO; /* the file shrank under us */
		dst += n;
		off += (uint64_t)n;
		len -= (uint64_t)n;
	}
	return 0;
}

static bool all_zero(const uint8_t *p, uint64_t len)
{
	const uint64_t *w = (const uint64_t *)p;
	uint64_t words = len / 8;

	for (uint64_t i = 0; i < words; i++)
		if (w[i])
			return false;
	for (uint64_t i = words * 8; i < len; i++)
		if (p[i])
			return false;
	return true;
}

/* Copy one buffer of file data to guest RAM, page by guest page, leaving
 * out the pages whose bytes are all zero. */
static void copy_nonzero(uint8_t *dst, const uint8_t *src, uint64_t len)
{
	while (len) {
		uint64_t n = GM_PAGE_SIZE - ((uintptr_t)dst & (GM_PAGE_SIZE - 1));

		if (n > len)
			n = len;
		if (!all_zero(src, n))
			memcpy(dst, src, n);
		dst += n;
		src += n;
		len -= n;
	}
}

/* Through a bounce buffer rather than a mapping of the file: a file that
 * shrinks under a mapping raises SIGBUS, under pread it is an error. */
int gm_load_file(const struct guest_mem *gm, int fd, uint64_t offset, uint64_t gpa,
		 uint64_t len)
{
	uint8_t *dst = gm_ptr(gm, gpa, len);
	uint8_t *buf;
	int ret = 0;

	if (!dst)
		return -ERANGE;
	/* mmap, not malloc: the buffer must not stay in sardine's RSS. */
	buf = mmap(NULL, GM_LOAD_CHUNK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (buf == MAP_FAILED)
		return -errno;
	while (len && !ret) {
		uint64_t n = len < GM_LOAD_CHUNK ? len : GM_LOAD_CHUNK;

		ret = pread_all(fd, buf, n, offset);
		if (!ret)
			copy_nonzero(dst, buf, n);
		dst += n;
		offset += n;
		len -= n;
	}
	munmap(buf, GM_LOAD_CHUNK);
	return ret;
}

int gm_discard(const struct guest_mem *gm, uint64_t gpa, uint64_t len)
{
	void *p = gm_ptr(gm, gpa, len);

	if (!p || (gpa | len) & 4095)
		return -EFAULT;
	if (madvise(p, len, MADV_DONTNEED) < 0)
		return -errno;
	return 0;
}

uint64_t gm_gpa_of(const struct guest_mem *gm, const void *hva)
{
	const uint8_t *p = hva;

	for (unsigned int i = 0; i < gm->nr_regions; i++) {
		const struct guest_region *r = &gm->region[i];

		if (p >= r->hva && (uint64_t)(p - r->hva) < r->size)
			return r->gpa + (uint64_t)(p - r->hva);
	}
	return UINT64_MAX;
}
