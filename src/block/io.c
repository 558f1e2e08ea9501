#define LOG_TAG "block"
/* Request execution shared by the engines: O_DIRECT alignment and bouncing,
 * and the synchronous forms of every operation (for the thread pool). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "block/block.h"
#include "virtio/queue.h"
#include "vmm/log.h"

#define ZERO_CHUNK (64u << 10)

static bool aligned(uint64_t v, uint32_t align)
{
	return (v & (align - 1)) == 0;
}

static bool iov_aligned(const struct iovec *iov, unsigned int n, uint32_t mem_align,
			uint32_t len_align)
{
	for (unsigned int i = 0; i < n; i++)
		if (!aligned((uintptr_t)iov[i].iov_base, mem_align) ||
		    !aligned(iov[i].iov_len, len_align))
			return false;
	return true;
}

/* An aligned buffer the transfer uses instead of the guest's (a write's
 * data copied in now); -ENOMEM. */
static int bounce(struct blk_image *img, struct blk_req *req)
{
	size_t align = blk_buffer_align(img);
	size_t alloc = (req->len + align - 1) / align * align;

	req->bounce = aligned_alloc(align, alloc ? alloc : align);
	if (!req->bounce)
		return -ENOMEM;
	if (req->op == BLK_OP_WRITE)
		iov_to_buf(req->iov, req->iovcnt, 0, req->bounce, req->len);
	req->bounce_iov = (struct iovec){ .iov_base = req->bounce, .iov_len = req->len };
	req->xiov = &req->bounce_iov;
	req->xcnt = 1;
	return 0;
}

/* A write to the first sector of an image sardine took for raw by its
 * looks (not format=raw) that would give it another format's signature
 * (block/format.c) is refused, as QEMU and cloud-hypervisor refuse it: a
 * later sardine would refuse the image, and a tool that guesses formats
 * would take the guest's bytes for the host's metadata (a qcow2 header
 * naming a host file as its backing file).  The data is copied first and
 * written from the copy, so the guest cannot change it after the look. */
static int guard_head(struct blk_image *img, struct blk_req *req)
{
	const char *format;
	int ret = bounce(img, req);

	if (ret)
		return ret;
	format = blk_format_probe(req->bounce, req->len < BLK_SECTOR ? req->len : BLK_SECTOR);
	if (!format)
		return 0;
	if (!__atomic_exchange_n(&img->head_refused, true, __ATOMIC_RELAXED))
		log_warn("disk %s: the guest wrote a %s header to its first sector: refused "
			 "(format=raw allows it; further refusals are not logged)", img->path, format);
	free(req->bounce);
	req->bounce = NULL;
	req->xiov = req->iov;
	req->xcnt = req->iovcnt;
	return -EPERM;
}

int blk_prepare_rw(struct blk_image *img, struct blk_req *req)
{
	req->fd = img->fd;
	req->xiov = req->iov;
	req->xcnt = req->iovcnt;
	req->bounce = NULL;
	if (req->op == BLK_OP_WRITE && req->offset == 0 && img->guard_head) {
		int ret = guard_head(img, req);

		if (ret)
			return ret;
	}
	if (!img->direct)
		return 0;
	if (!aligned(req->offset | req->len, img->offset_align)) {
		req->fd = img->buffered_fd;
		return 0;
	}
	/* The guard's copy is aligned already. */
	if (req->bounce || iov_aligned(req->iov, req->iovcnt, img->mem_align, img->offset_align))
		return 0;
	if (req->len > BLK_BOUNCE_MAX) {
		req->fd = img->buffered_fd;
		return 0;
	}
	if (bounce(img, req))
		req->fd = img->buffered_fd; /* slower, but needs no memory */
	return 0;
}

void blk_finish_rw(struct blk_req *req, int ret)
{
	if (!req->bounce)
		return;
	if (req->op == BLK_OP_READ && ret == 0)
		iov_from_buf(req->iov, req->iovcnt, 0, req->bounce, req->len);
	free(req->bounce);
	req->bounce = NULL;
}

/* After a short transfer of n bytes: drop what is done from the front. */
void blk_advance(struct blk_req *req, uint64_t n)
{
	req->done_bytes += n;
	while (n && req->xcnt) {
		if (n < req->xiov->iov_len) {
			req->xiov->iov_base = (uint8_t *)req->xiov->iov_base + n;
			req->xiov->iov_len -= n;
			return;
		}
		n -= req->xiov->iov_len;
		req->xiov++;
		req->xcnt--;
	}
}

/* The kernel refused O_DIRECT for this request (an alignment rule statx
 * did not tell us): the buffered descriptor takes it as it is. */
bool blk_fallback_buffered(struct blk_image *img, struct blk_req *req, int err)
{
	if (err != -EINVAL || !img->direct || req->fd != img->fd || img->buffered_fd < 0)
		return false;
	req->fd = img->buffered_fd;
	return true;
}

static int rw_sync(struct blk_image *img, struct blk_req *req)
{
	int ret = blk_prepare_rw(img, req);

	while (!ret && req->done_bytes < req->len) {
		int cnt = req->xcnt < IOV_MAX ? (int)req->xcnt : IOV_MAX;
		off_t off = (off_t)(req->offset + req->done_bytes);
		ssize_t n = req->op == BLK_OP_READ ? preadv(req->fd, req->xiov, cnt, off)
						   : pwritev(req->fd, req->xiov, cnt, off);

		if (n < 0) {
			if (errno == EINTR || blk_fallback_buffered(img, req, -errno))
				continue;
			ret = -errno;
		} else if (n == 0) {
			ret = -EIO; /* the image shrank under us */
		} else {
			blk_advance(req, (uint64_t)n);
		}
	}
	blk_finish_rw(req, ret);
	return ret;
}

static bool unsupported(int err)
{
	return err == EOPNOTSUPP || err == ENOTTY || err == EINVAL || err == ENOSYS;
}

static int discard_range(struct blk_image *img, const struct blk_range *r)
{
	if (img->blockdev) {
		uint64_t range[2] = { r->offset, r->len };

		if (ioctl(img->fd, BLKDISCARD, range) == 0)
			return 0;
	} else if (fallocate(img->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
			     (off_t)r->offset, (off_t)r->len) == 0) {
		return 0;
	}
	/* Discard is a hint: a backend that cannot drop blocks keeps them. */
	return unsupported(errno) ? 0 : -errno;
}

static int write_zero_bytes(struct blk_image *img, const struct blk_range *r)
{
	bool direct_ok = aligned(r->offset | r->len, img->offset_align);
	int fd = direct_ok || img->buffered_fd < 0 ? img->fd : img->buffered_fd;
	void *zeros = aligned_alloc(4096, ZERO_CHUNK);
	uint64_t done = 0;
	int ret = 0;

	if (!zeros)
		return -ENOMEM;
	memset(zeros, 0, ZERO_CHUNK);
	while (done < r->len) {
		size_t chunk = r->len - done < ZERO_CHUNK ? (size_t)(r->len - done) : ZERO_CHUNK;
		ssize_t n = pwrite(fd, zeros, chunk, (off_t)(r->offset + done));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			ret = n < 0 ? -errno : -EIO;
			break;
		}
		done += (uint64_t)n;
	}
	free(zeros);
	return ret;
}

static int write_zeroes_range(struct blk_image *img, const struct blk_range *r, bool may_unmap)
{
	if (img->blockdev) {
		uint64_t range[2] = { r->offset, r->len };

		if (ioctl(img->fd, BLKZEROOUT, range) == 0)
			return 0;
	} else {
		/* A hole reads as zeroes and costs nothing; without leave to
		 * unmap, keep the blocks allocated. */
		int mode = (may_unmap ? FALLOC_FL_PUNCH_HOLE : FALLOC_FL_ZERO_RANGE) |
			   FALLOC_FL_KEEP_SIZE;

		if (fallocate(img->fd, mode, (off_t)r->offset, (off_t)r->len) == 0)
			return 0;
	}
	if (!unsupported(errno))
		return -errno;
	return write_zero_bytes(img, r);
}

int blk_exec_sync(struct blk_image *img, struct blk_req *req)
{
	int ret = 0;

	switch (req->op) {
	case BLK_OP_READ:
	case BLK_OP_WRITE:
		return rw_sync(img, req);
	case BLK_OP_FLUSH:
		/* One inode: this also covers writes made through buffered_fd. */
		while ((ret = fdatasync(img->fd)) < 0 && errno == EINTR)
			;
		return ret < 0 ? -errno : 0;
	case BLK_OP_DISCARD:
		for (unsigned int i = 0; i < req->nr_ranges && !ret; i++)
			ret = discard_range(img, &req->ranges[i]);
		return ret;
	case BLK_OP_WRITE_ZEROES:
		for (unsigned int i = 0; i < req->nr_ranges && !ret; i++)
			ret = write_zeroes_range(img, &req->ranges[i], req->may_unmap);
		return ret;
	}
	return -EINVAL;
}
