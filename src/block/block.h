/* The block layer: disk images (raw files and host block devices) and the
 * engines that move their bytes.
 *
 * A struct blk_image is one open image: size, topology, alignment rules,
 * locks.  A struct blk_ctx is where requests are submitted: one per device
 * queue, bound to the event loop (I/O thread) that serves that queue.  All
 * calls on a ctx except blk_ctx_drain() happen on that loop's thread, and
 * every completion callback runs there too, so device code needs no locks.
 *
 * Two engines sit behind a ctx:
 *  - io_uring (liburing): requests are prepared as SQEs and pushed with one
 *    io_uring_submit() per batch; completions signal an eventfd registered
 *    with io_uring_register_eventfd() that the loop watches;
 *  - a thread pool (preadv/pwritev/fdatasync/fallocate/ioctl) when io_uring
 *    is unavailable, or when SARDINE_BLK_ENGINE=threads forces it (tests).
 *    Discard and write-zeroes always go to the pool: they may block in the
 *    kernel for a long time and io_uring has no portable opcode for
 *    BLKDISCARD/BLKZEROOUT.
 *
 * cache=none opens the image with O_DIRECT.  A request whose guest buffers
 * are not aligned for O_DIRECT is bounced through an aligned buffer; one
 * whose offset or length is not (or that is too large to bounce) goes to a
 * second, buffered descriptor of the same file, which the kernel keeps
 * coherent with direct I/O. */
#ifndef SARDINE_BLOCK_H
#define SARDINE_BLOCK_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "vmm/config.h"

struct event_loop;

#define BLK_SECTOR 512
#define BLK_MAX_RANGES 32          /* discard / write-zeroes ranges per request */
#define BLK_BOUNCE_MAX (4u << 20)  /* larger misaligned requests go buffered */
#define BLK_ENGINE_ENV "SARDINE_BLK_ENGINE" /* "threads" or "io_uring" */

enum blk_engine { BLK_ENGINE_IO_URING, BLK_ENGINE_THREADS };

enum blk_op { BLK_OP_READ, BLK_OP_WRITE, BLK_OP_FLUSH, BLK_OP_DISCARD, BLK_OP_WRITE_ZEROES };

struct blk_range {
	uint64_t offset, len; /* bytes */
};

struct blk_ctx;
struct blk_pool;

/* One request.  The submitter fills the public part and keeps the struct
 * (and the iovec array, which the engine may consume in place) alive until
 * done() has been called. */
struct blk_req {
	enum blk_op op;
	uint64_t offset;            /* read / write: byte offset in the image */
	struct iovec *iov;          /* read / write: the buffers */
	unsigned int iovcnt;
	uint64_t len;               /* read / write: total of iov */
	const struct blk_range *ranges; /* discard / write-zeroes */
	unsigned int nr_ranges;
	bool may_unmap;             /* write-zeroes may deallocate */
	/* On the ctx's loop thread: 0 when everything was done, else -errno. */
	void (*done)(struct blk_req *req, int ret);

	/* Engine state. */
	struct blk_ctx *ctx;
	int fd;                     /* descriptor the transfer uses */
	struct iovec *xiov;         /* what is left to transfer */
	unsigned int xcnt;
	void *bounce;               /* aligned copy of the data, or NULL */
	struct iovec bounce_iov;
	uint64_t done_bytes;        /* progress through short transfers */
	unsigned int retries;
	int result;
	struct blk_req *next;
};

struct blk_image {
	char *path;
	int fd;              /* O_DIRECT with cache=none */
	int buffered_fd;     /* same file without O_DIRECT, or -1 (then fd) */
	uint64_t size;       /* bytes, a multiple of 512 */
	bool readonly;
	bool direct;
	bool blockdev;
	bool guard_head;     /* refuse writes that make it look non-raw (io.c) */
	bool head_refused;   /* that refusal was logged: once per image */
	uint32_t logical_block;  /* what the guest is told (blk_size) */
	uint32_t physical_block;
	uint32_t mem_align;      /* O_DIRECT buffer address alignment */
	uint32_t offset_align;   /* O_DIRECT offset and length alignment */
	enum blk_engine engine;
	struct blk_pool *pool;
};

/* Where a buffer for an O_DIRECT transfer of the image may start: its
 * alignment rule, and a page at least. */
static inline size_t blk_buffer_align(const struct blk_image *img)
{
	return img->mem_align > 4096 ? img->mem_align : 4096;
}

/* The name of the non-raw image format whose signature the first bytes of
 * an image (len of them) carry ("qcow2", "VMDK", ...), or NULL. */
const char *blk_format_probe(const uint8_t *head, size_t len);

/* Opens and locks an image as cfg says.  On failure returns -errno and
 * writes a one-line reason (naming the path) into err. */
int blk_image_open(struct blk_image *img, const struct disk_config *cfg, char *err,
		   size_t errlen);
void blk_image_close(struct blk_image *img);
/* Opens every disk of a configuration, once per run: the user's mistakes
 * (missing, unreadable, badly sized, locked or repeated images) are
 * reported before any VM is built, and the locks outlive reboots.  Logs
 * the reason and returns -errno; *out is an array of cfg->nr_disks. */
int blk_open_disks(const struct vm_config *cfg, struct blk_image **out);
void blk_close_disks(struct blk_image *imgs, unsigned int n);

/* Engine of a new ctx: io_uring unless SARDINE_BLK_ENGINE=threads or
 * io_uring cannot be set up (then the pool, said once in the log). */
int blk_ctx_create(struct blk_image *img, struct event_loop *loop, unsigned int depth,
		   struct blk_ctx **out);
/* After blk_ctx_drain(): nothing may be in flight. */
void blk_ctx_destroy(struct blk_ctx *ctx);
/* Called after each batch of completions (to interrupt the guest once). */
void blk_ctx_set_batch_end(struct blk_ctx *ctx, void (*fn)(void *opaque), void *opaque);
/* Queues a request; it reaches the kernel at the next blk_ctx_commit(). */
void blk_ctx_submit(struct blk_ctx *ctx, struct blk_req *req);
/* Pushes everything queued since the last commit: one system call. */
void blk_ctx_commit(struct blk_ctx *ctx);
/* From any thread but the loop's: waits until every submitted request has
 * completed and its done() has returned. */
void blk_ctx_drain(struct blk_ctx *ctx);
unsigned int blk_ctx_inflight(const struct blk_ctx *ctx);
/* For a loop that polls: handles whatever completions are there without
 * waiting (true when there were some), and turns the eventfd signal of
 * io_uring completions off while polling (back on with true). */
bool blk_ctx_poll(struct blk_ctx *ctx);
void blk_ctx_signal_completions(struct blk_ctx *ctx, bool on);
enum blk_engine blk_ctx_engine(const struct blk_ctx *ctx);
/* Submits one empty request with this opcode and SQE flags on the ring
 * (fixed file 0) and returns what the kernel answered: for tests, which show
 * the ring refuses (-EACCES) what sardine does not submit.  The ring must be
 * idle; -EBUSY without one. */
int blk_ctx_ring_try(struct blk_ctx *ctx, uint8_t opcode, uint8_t flags);

/* Executes a request synchronously on the calling thread (the pool's
 * workers, and the io_uring engine's fallbacks); returns 0 or -errno. */
int blk_exec_sync(struct blk_image *img, struct blk_req *req);
/* Chooses fd / bounce buffer for a read or write; -ENOMEM, or -EPERM for
 * a write the image's first-sector guard refuses. */
int blk_prepare_rw(struct blk_image *img, struct blk_req *req);
/* After a read or write: copies a bounced read back and frees the bounce. */
void blk_finish_rw(struct blk_req *req, int ret);
/* After a short transfer of n bytes: the rest is what xiov/xcnt hold. */
void blk_advance(struct blk_req *req, uint64_t n);
/* Whether a failed direct transfer should be retried on the buffered
 * descriptor (it then is req->fd). */
bool blk_fallback_buffered(struct blk_image *img, struct blk_req *req, int err);

/* The thread pool shared by an image's ctxs: created with the image, its
 * workers started by its first ctx (blk_pool_start: on the control thread;
 * a no-op once started; 0 once any runs). */
int blk_pool_create(struct blk_image *img, unsigned int threads, struct blk_pool **out);
int blk_pool_start(struct blk_pool *pool);
void blk_pool_destroy(struct blk_pool *pool);
/* Hands the chain first..last (linked by next) to the workers at once. */
void blk_pool_queue(struct blk_pool *pool, struct blk_req *first, struct blk_req *last,
		    unsigned int count);
/* Called by pool workers with a finished request (engine internal). */
void blk_ctx_complete_async(struct blk_ctx *ctx, struct blk_req *req);

#endif
