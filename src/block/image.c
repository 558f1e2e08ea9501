#define LOG_TAG "block"
/* Opening disk images: checks, locks, size and topology. */
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "block/block.h"
#include "vmm/log.h"

#define POOL_THREADS_FALLBACK 8 /* the whole I/O path runs on them */
#define POOL_THREADS_URING 2    /* only discard and write-zeroes */

static bool power_of_two(uint64_t v)
{
	return v && !(v & (v - 1));
}

static int open_error(const struct disk_config *cfg, int e, char *err, size_t errlen)
{
	const char *p = cfg->path;

	switch (e) {
	case ENOENT:
		return err_reason(err, errlen, -e, "disk %s: no such file or device", p);
	case EACCES:
	case EPERM:
		return err_reason(err, errlen, -e, "disk %s: permission denied%s", p,
			      cfg->readonly ? "" : " (add ,ro if read access is enough)");
	case EROFS:
		return err_reason(err, errlen, -e, "disk %s is on a read-only file system (add ,ro)", p);
	case EISDIR:
		return err_reason(err, errlen, -e, "disk %s is a directory, not an image", p);
	case EINVAL:
		if (cfg->cache == DISK_CACHE_NONE)
			return err_reason(err, errlen, -e,
				      "disk %s: cache=none needs O_DIRECT, which its file system does not support (use cache=writeback)",
				      p);
		break;
	default:
		break;
	}
	return err_reason(err, errlen, -e, "disk %s: cannot open: %s", p, strerror(e));
}

/* An OFD lock lives as long as the open file description: a writer holds a
 * write lock, readers a read lock, so no two VMs write the same image and
 * none reads an image another one writes. */
static int lock_image(struct blk_image *img, char *err, size_t errlen)
{
	struct flock fl = {
		.l_type = img->readonly ? F_RDLCK : F_WRLCK,
		.l_whence = SEEK_SET,
	};

	if (fcntl(img->fd, F_OFD_SETLK, &fl) == 0)
		return 0;
	if (errno == EAGAIN || errno == EACCES)
		return err_reason(err, errlen, -EBUSY,
			      "disk %s is in use by another process (it holds a %s lock on it)",
			      img->path, img->readonly ? "write" : "read or write");
	/* Some network file systems cannot lock; running unlocked beats not
	 * running, but the user should know. */
	log_warn("disk %s: cannot lock it (%s); nothing stops a second VM from using it",
		 img->path, strerror(errno));
	return 0;
}

static void probe_blockdev(struct blk_image *img)
{
	int lbs = 0;
	unsigned int pbs = 0;

	if (ioctl(img->fd, BLKSSZGET, &lbs) == 0 && lbs >= BLK_SECTOR && power_of_two((uint64_t)lbs))
		img->logical_block = (uint32_t)lbs;
	if (ioctl(img->fd, BLKPBSZGET, &pbs) == 0 && power_of_two(pbs))
		img->physical_block = pbs;
	img->offset_align = img->logical_block;
	img->mem_align = img->logical_block;
}

/* O_DIRECT alignment from statx (Linux 6.1+); otherwise the common 512 and
 * an EINVAL from the kernel sends the request down the buffered path. */
static void probe_dio_align(struct blk_image *img)
{
	struct statx stx;

	if (statx(img->fd, "", AT_EMPTY_PATH, STATX_DIOALIGN, &stx) == 0 &&
	    (stx.stx_mask & STATX_DIOALIGN) && stx.stx_dio_offset_align) {
		if (power_of_two(stx.stx_dio_offset_align))
			img->offset_align = stx.stx_dio_offset_align;
		if (power_of_two(stx.stx_dio_mem_align))
			img->mem_align = stx.stx_dio_mem_align;
	}
}

static int probe(struct blk_image *img, char *err, size_t errlen)
{
	struct stat st;

	if (fstat(img->fd, &st) < 0)
		return err_reason(err, errlen, -errno, "disk %s: %s", img->path, strerror(errno));
	img->logical_block = BLK_SECTOR;
	img->physical_block = BLK_SECTOR;
	img->offset_align = BLK_SECTOR;
	img->mem_align = BLK_SECTOR;
	if (S_ISBLK(st.st_mode)) {
		img->blockdev = true;
		if (ioctl(img->fd, BLKGETSIZE64, &img->size) < 0)
			return err_reason(err, errlen, -errno, "disk %s: cannot get its size: %s",
				      img->path, strerror(errno));
		probe_blockdev(img);
	} else if (S_ISREG(st.st_mode)) {
		img->size = (uint64_t)st.st_size;
		/* The file system's block is the unit worth aligning to. */
		if (power_of_two((uint64_t)st.st_blksize) && st.st_blksize <= 65536)
			img->physical_block = (uint32_t)st.st_blksize;
	} else {
		return err_reason(err, errlen, -EINVAL,
			      "disk %s is neither a regular file nor a block device", img->path);
	}
	if (img->direct) {
		probe_dio_align(img);
		/* The guest then issues I/O that O_DIRECT takes as it is. */
		if (img->offset_align > img->logical_block)
			img->logical_block = img->offset_align;
	}
	if (img->physical_block < img->logical_block)
		img->physical_block = img->logical_block;
	if (img->size == 0)
		return err_reason(err, errlen, -EINVAL, "disk %s is empty", img->path);
	if (img->size % BLK_SECTOR)
		return err_reason(err, errlen, -EINVAL,
			      "disk %s: its size (%llu bytes) is not a multiple of 512", img->path,
			      (unsigned long long)img->size);
	return 0;
}

/* Refuses an image another format's signature marks, unless the user
 * said it is raw (block/format.c).  The first 4 KiB are read through the
 * image's own descriptor, so with O_DIRECT into an aligned buffer. */
static int check_format(struct blk_image *img, const struct disk_config *cfg, char *err,
			size_t errlen)
{
	size_t len = img->offset_align > 4096 ? img->offset_align : 4096;
	const char *format;
	uint8_t *head;
	ssize_t n;

	if (cfg->format_raw)
		return 0;
	if (posix_memalign((void **)&head, blk_buffer_align(img), len))
		return err_reason(err, errlen, -ENOMEM, "out of memory");
	do {
		n = pread(img->fd, head, len, 0);
	} while (n < 0 && errno == EINTR);
	if (n < 0) {
		int e = errno;

		free(head);
		return err_reason(err, errlen, -e, "disk %s: cannot read it: %s", img->path,
				  strerror(e));
	}
	format = blk_format_probe(head, (size_t)n);
	free(head);
	if (!format)
		return 0;
	return err_reason(err, errlen, -EINVAL,
			  "disk %s is a %s image; sardine runs raw images (qemu-img convert -O raw makes one), "
			  "or add ,format=raw if the guest wrote those bytes itself",
			  img->path, format);
}

static enum blk_engine engine_from_env(void)
{
	const char *e = getenv(BLK_ENGINE_ENV);

	if (e && strcmp(e, "threads") == 0)
		return BLK_ENGINE_THREADS;
	if (e && *e && strcmp(e, "io_uring") != 0)
		log_warn("%s=%s is neither io_uring nor threads; using io_uring", BLK_ENGINE_ENV, e);
	return BLK_ENGINE_IO_URING;
}

int blk_image_open(struct blk_image *img, const struct disk_config *cfg, char *err,
		   size_t errlen)
{
	int flags = (cfg->readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC;
	int ret;

	memset(img, 0, sizeof(*img));
	img->fd = -1;
	img->buffered_fd = -1;
	img->readonly = cfg->readonly;
	img->guard_head = !cfg->readonly && !cfg->format_raw;
	img->direct = cfg->cache == DISK_CACHE_NONE;
	img->engine = engine_from_env();
	img->path = strdup(cfg->path);
	if (!img->path)
		return err_reason(err, errlen, -ENOMEM, "out of memory");
	img->fd = open(cfg->path, flags | (img->direct ? O_DIRECT : 0));
	if (img->fd < 0) {
		ret = open_error(cfg, errno, err, errlen);
		goto err_path;
	}
	ret = probe(img, err, errlen);
	if (!ret)
		ret = lock_image(img, err, errlen);
	if (!ret)
		ret = check_format(img, cfg, err, errlen);
	if (ret)
		goto err_fd;
	if (img->direct) {
		img->buffered_fd = open(cfg->path, flags);
		if (img->buffered_fd < 0) {
			ret = open_error(cfg, errno, err, errlen);
			goto err_fd;
		}
	}
	ret = blk_pool_create(img, img->engine == BLK_ENGINE_THREADS ? POOL_THREADS_FALLBACK
								      : POOL_THREADS_URING,
			      &img->pool);
	if (ret) {
		err_reason(err, errlen, ret, "disk %s: cannot set up its I/O threads: %s", img->path,
		       strerror(-ret));
		goto err_buffered;
	}
	return 0;

err_buffered:
	if (img->buffered_fd >= 0)
		close(img->buffered_fd);
err_fd:
	close(img->fd);
err_path:
	free(img->path);
	img->path = NULL;
	img->fd = img->buffered_fd = -1;
	return ret;
}

void blk_image_close(struct blk_image *img)
{
	if (img->pool)
		blk_pool_destroy(img->pool);
	img->pool = NULL;
	if (img->buffered_fd >= 0)
		close(img->buffered_fd);
	if (img->fd >= 0)
		close(img->fd); /* drops the lock */
	free(img->path);
	img->path = NULL;
	img->fd = img->buffered_fd = -1;
}

/* Whether a disk names an image already open (by another path, or another
 * node of the same device) with one of the two writable: checked before
 * opening, or our own lock would make it look like somebody else's. */
static bool already_open(const struct blk_image *img, const struct disk_config *cfg)
{
	struct stat a, b;

	if ((img->readonly && cfg->readonly) || fstat(img->fd, &a) || stat(cfg->path, &b))
		return false;
	if (S_ISBLK(a.st_mode) && S_ISBLK(b.st_mode))
		return a.st_rdev == b.st_rdev;
	return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

int blk_open_disks(const struct vm_config *cfg, struct blk_image **out)
{
	struct blk_image *imgs = calloc(cfg->nr_disks ? cfg->nr_disks : 1, sizeof(*imgs));
	unsigned int n;
	int ret = 0;

	if (!imgs)
		return -ENOMEM;
	for (n = 0; n < cfg->nr_disks && !ret; n++) {
		char err[512];

		for (unsigned int j = 0; j < n && !ret; j++) {
			if (already_open(&imgs[j], &cfg->disks[n])) {
				log_error("disk %s is given twice", cfg->disks[n].path);
				ret = -EBUSY;
			}
		}
		if (ret)
			break;
		ret = blk_image_open(&imgs[n], &cfg->disks[n], err, sizeof(err));
		if (ret) {
			log_error("%s", err);
			break;
		}
	}
	if (ret) {
		blk_close_disks(imgs, n);
		return ret;
	}
	*out = imgs;
	return 0;
}

void blk_close_disks(struct blk_image *imgs, unsigned int n)
{
	for (unsigned int i = 0; imgs && i < n; i++)
		blk_image_close(&imgs[i]);
	free(imgs);
}
