#define LOG_TAG "block"
/* A submission context: one per device queue, living on that queue's I/O
 * thread.  Reads, writes and flushes go to io_uring when it is available;
 * everything else, and everything when it is not, goes to the image's
 * thread pool.  Both engines report through one eventfd that the loop
 * watches, and completions are handled in batches: the device hears
 * about the end of each batch and interrupts the guest once. */
#include <errno.h>
#include <liburing.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "block/block.h"
#include "vmm/event_loop.h"
#include "vmm/log.h"

#define MAX_RETRIES 16 /* EAGAIN / EINTR from io_uring before giving up */
#define FILE_DIRECT 0  /* registered file indexes */
#define FILE_BUFFERED 1

struct blk_ctx {
	struct blk_image *img;
	struct event_loop *loop;
	enum blk_engine engine;
	int efd; /* completions of both engines */
	struct io_uring ring;
	bool have_ring;
	/* For the pool at the next commit. */
	struct blk_req *pool_first, *pool_last;
	unsigned int pool_count;
	/* Finished by pool workers, taken by the loop. */
	pthread_mutex_t done_lock;
	struct blk_req *done_first, *done_last;
	/* Requests submitted and not yet through done(): written by the loop,
	 * read by blk_ctx_drain() on another thread. */
	unsigned int inflight;
	bool draining;
	pthread_mutex_t drain_lock;
	pthread_cond_t drained;
	void (*batch_end)(void *opaque);
	void *batch_opaque;
};

static bool probe_ops(struct io_uring *ring)
{
	struct io_uring_probe *p = io_uring_get_probe_ring(ring);
	bool ok;

	if (!p)
		return false;
	ok = io_uring_opcode_supported(p, IORING_OP_READV) &&
	     io_uring_opcode_supported(p, IORING_OP_WRITEV) &&
	     io_uring_opcode_supported(p, IORING_OP_FSYNC);
	io_uring_free_probe(p);
	return ok;
}

/* io_uring operations are not system calls: the seccomp filter never sees
 * them.  So the ring is restricted before it is enabled to what sardine
 * submits, on the image's registered descriptors only: no open, connect or
 * other file of the host reachable through it. */
static int restrict_ring(struct io_uring *ring)
{
	struct io_uring_restriction res[] = {
		{ .opcode = IORING_RESTRICTION_SQE_OP, .sqe_op = IORING_OP_READV },
		{ .opcode = IORING_RESTRICTION_SQE_OP, .sqe_op = IORING_OP_WRITEV },
		{ .opcode = IORING_RESTRICTION_SQE_OP, .sqe_op = IORING_OP_FSYNC },
		{ .opcode = IORING_RESTRICTION_SQE_FLAGS_ALLOWED, .sqe_flags = IOSQE_FIXED_FILE },
		{ .opcode = IORING_RESTRICTION_SQE_FLAGS_REQUIRED, .sqe_flags = IOSQE_FIXED_FILE },
	};
	/* Through io_uring_register(): Debian's liburing 2.3 shared library
	 * leaves io_uring_register_restrictions/enable_rings out of its
	 * exports (the fuzz targets link it dynamically). */
	int ret = io_uring_register(ring->ring_fd, IORING_REGISTER_RESTRICTIONS, res,
				    sizeof(res) / sizeof(res[0]));

	return ret < 0 ? ret : io_uring_register(ring->ring_fd, IORING_REGISTER_ENABLE_RINGS, NULL, 0);
}

static int setup_ring(struct blk_ctx *ctx, unsigned int depth)
{
	int files[2] = { ctx->img->fd, ctx->img->buffered_fd >= 0 ? ctx->img->buffered_fd
								   : ctx->img->fd };
	int ret = io_uring_queue_init(depth, &ctx->ring, IORING_SETUP_R_DISABLED);

	if (ret)
		return ret;
	if (!probe_ops(&ctx->ring))
		ret = -EOPNOTSUPP;
	if (!ret)
		ret = io_uring_register_files(&ctx->ring, files, 2);
	if (!ret)
		ret = io_uring_register_eventfd(&ctx->ring, ctx->efd);
	if (!ret)
		ret = restrict_ring(&ctx->ring);
	if (ret) {
		io_uring_queue_exit(&ctx->ring);
		return ret;
	}
	ctx->have_ring = true;
	return 0;
}

static unsigned int reap(struct blk_ctx *ctx);

static void on_completion(void *opaque, uint32_t events)
{
	struct blk_ctx *ctx = opaque;
	uint64_t v;

	if (read(ctx->efd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		log_debug("completion eventfd: %s", strerror(errno));
	reap(ctx);
}

int blk_ctx_create(struct blk_image *img, struct event_loop *loop, unsigned int depth,
		   struct blk_ctx **out)
{
	struct blk_ctx *ctx = calloc(1, sizeof(*ctx));
	int ret;

	if (!ctx)
		return -ENOMEM;
	ctx->img = img;
	ctx->loop = loop;
	ctx->engine = img->engine;
	pthread_mutex_init(&ctx->done_lock, NULL);
	pthread_mutex_init(&ctx->drain_lock, NULL);
	pthread_cond_init(&ctx->drained, NULL);
	ctx->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (ctx->efd < 0) {
		ret = -errno;
		goto err_ctx;
	}
	if (ctx->engine == BLK_ENGINE_IO_URING) {
		ret = setup_ring(ctx, depth);
		if (ret) {
			/* Kernels without io_uring, or sandboxes that forbid it. */
			if (img->engine == BLK_ENGINE_IO_URING)
				log_warn("disk %s: io_uring unavailable (%s), using the thread pool",
					 img->path, strerror(-ret));
			img->engine = ctx->engine = BLK_ENGINE_THREADS;
		}
	}
	ret = blk_pool_start(img->pool);
	if (!ret)
		ret = event_loop_add(loop, ctx->efd, EPOLLIN, on_completion, ctx);
	if (ret)
		goto err_ring;
	*out = ctx;
	return 0;

err_ring:
	if (ctx->have_ring)
		io_uring_queue_exit(&ctx->ring);
	close(ctx->efd);
err_ctx:
	pthread_mutex_destroy(&ctx->done_lock);
	pthread_mutex_destroy(&ctx->drain_lock);
	pthread_cond_destroy(&ctx->drained);
	free(ctx);
	return ret;
}

void blk_ctx_destroy(struct blk_ctx *ctx)
{
	if (!ctx)
		return;
	event_loop_del(ctx->loop, ctx->efd);
	if (ctx->have_ring)
		io_uring_queue_exit(&ctx->ring);
	close(ctx->efd);
	pthread_mutex_destroy(&ctx->done_lock);
	pthread_mutex_destroy(&ctx->drain_lock);
	pthread_cond_destroy(&ctx->drained);
	free(ctx);
}

void blk_ctx_set_batch_end(struct blk_ctx *ctx, void (*fn)(void *opaque), void *opaque)
{
	ctx->batch_end = fn;
	ctx->batch_opaque = opaque;
}

unsigned int blk_ctx_inflight(const struct blk_ctx *ctx)
{
	return __atomic_load_n(&ctx->inflight, __ATOMIC_SEQ_CST);
}

enum blk_engine blk_ctx_engine(const struct blk_ctx *ctx)
{
	return ctx->engine;
}

int blk_ctx_ring_try(struct blk_ctx *ctx, uint8_t opcode, uint8_t flags)
{
	struct io_uring_sqe *sqe;
	struct io_uring_cqe *cqe;
	int ret;

	if (!ctx->have_ring || ctx->inflight || !(sqe = io_uring_get_sqe(&ctx->ring)))
		return -EBUSY;
	io_uring_prep_nop(sqe);
	sqe->opcode = opcode;
	sqe->flags = flags;
	sqe->fd = 0;
	io_uring_sqe_set_data(sqe, NULL);
	ret = io_uring_submit_and_wait(&ctx->ring, 1);
	if (ret >= 0)
		ret = io_uring_wait_cqe(&ctx->ring, &cqe);
	if (ret < 0)
		return ret;
	ret = cqe->res;
	io_uring_cqe_seen(&ctx->ring, cqe);
	return ret;
}

static void to_pool(struct blk_ctx *ctx, struct blk_req *req)
{
	req->next = NULL;
	if (ctx->pool_last)
		ctx->pool_last->next = req;
	else
		ctx->pool_first = req;
	ctx->pool_last = req;
	ctx->pool_count++;
}

static void submit_ring(struct blk_ctx *ctx)
{
	for (unsigned int tries = 0; io_uring_sq_ready(&ctx->ring); tries++) {
		int ret = io_uring_submit(&ctx->ring);

		if (ret > 0 || ret == -EINTR)
			continue;
		/* -EBUSY/-EAGAIN: the kernel wants completions consumed or
		 * memory; the SQEs stay in the ring for the next commit. */
		if (tries >= MAX_RETRIES) {
			log_debug("io_uring_submit: %s", strerror(-ret));
			return;
		}
	}
}

/* The SQE for a read, write or flush; false when the ring is full even
 * after a submit (then the pool takes the request). */
static bool queue_ring(struct blk_ctx *ctx, struct blk_req *req)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&ctx->ring);
	int file = req->fd == ctx->img->fd ? FILE_DIRECT : FILE_BUFFERED;
	uint64_t off = req->offset + req->done_bytes;

	if (!sqe) {
		submit_ring(ctx);
		sqe = io_uring_get_sqe(&ctx->ring);
		if (!sqe)
			return false;
	}
	switch (req->op) {
	case BLK_OP_READ:
		io_uring_prep_readv(sqe, file, req->xiov, req->xcnt, off);
		break;
	case BLK_OP_WRITE:
		io_uring_prep_writev(sqe, file, req->xiov, req->xcnt, off);
		break;
	default:
		io_uring_prep_fsync(sqe, FILE_DIRECT, IORING_FSYNC_DATASYNC);
		break;
	}
	sqe->flags |= IOSQE_FIXED_FILE;
	io_uring_sqe_set_data(sqe, req);
	return true;
}

void blk_ctx_submit(struct blk_ctx *ctx, struct blk_req *req)
{
	req->ctx = ctx;
	req->result = 0;
	req->retries = 0;
	req->done_bytes = 0;
	req->bounce = NULL;
	req->fd = ctx->img->fd;
	req->xiov = req->iov;
	req->xcnt = req->iovcnt;
	__atomic_add_fetch(&ctx->inflight, 1, __ATOMIC_SEQ_CST);
	if (ctx->have_ring &&
	    (req->op == BLK_OP_READ || req->op == BLK_OP_WRITE || req->op == BLK_OP_FLUSH)) {
		/* A request prepare refuses goes to the pool, which fails it. */
		if ((req->op == BLK_OP_FLUSH || !blk_prepare_rw(ctx->img, req)) &&
		    queue_ring(ctx, req))
			return;
		blk_finish_rw(req, -EAGAIN); /* the pool prepares it again */
	}
	to_pool(ctx, req);
}

void blk_ctx_commit(struct blk_ctx *ctx)
{
	if (ctx->have_ring)
		submit_ring(ctx);
	if (ctx->pool_first) {
		blk_pool_queue(ctx->img->pool, ctx->pool_first, ctx->pool_last, ctx->pool_count);
		ctx->pool_first = ctx->pool_last = NULL;
		ctx->pool_count = 0;
	}
}

void blk_ctx_complete_async(struct blk_ctx *ctx, struct blk_req *req)
{
	bool was_empty;
	uint64_t one = 1;

	req->next = NULL;
	pthread_mutex_lock(&ctx->done_lock);
	was_empty = !ctx->done_first;
	if (ctx->done_last)
		ctx->done_last->next = req;
	else /* atomic: blk_ctx_poll() peeks without the lock */
		__atomic_store_n(&ctx->done_first, req, __ATOMIC_RELEASE);
	ctx->done_last = req;
	pthread_mutex_unlock(&ctx->done_lock);
	/* The loop takes the whole list after each wakeup: one write per
	 * batch is enough. */
	if (was_empty && write(ctx->efd, &one, sizeof(one)) < 0)
		log_debug("completion eventfd: %s", strerror(errno));
}

/* Sends the rest of a transfer round again; true when that failed and
 * the request is finished (with -EIO). */
static bool requeue_failed(struct blk_ctx *ctx, struct blk_req *req)
{
	if (queue_ring(ctx, req))
		return false;
	req->result = -EIO;
	blk_finish_rw(req, req->result);
	return true;
}

/* One io_uring completion; true when the request is finished. */
static bool ring_done(struct blk_ctx *ctx, struct blk_req *req, int res)
{
	if (req->op == BLK_OP_FLUSH) {
		req->result = res < 0 ? res : 0;
		return true;
	}
	if ((res == -EAGAIN || res == -EINTR) && ++req->retries <= MAX_RETRIES)
		return requeue_failed(ctx, req);
	if (res < 0 && blk_fallback_buffered(ctx->img, req, res))
		return requeue_failed(ctx, req);
	if (res <= 0) {
		req->result = res < 0 ? res : -EIO; /* 0: the image shrank under us */
		blk_finish_rw(req, req->result);
		return true;
	}
	blk_advance(req, (uint64_t)res);
	if (req->done_bytes < req->len)
		return requeue_failed(ctx, req);
	blk_finish_rw(req, 0);
	return true;
}

static void wake_drainer(struct blk_ctx *ctx)
{
	if (!__atomic_load_n(&ctx->draining, __ATOMIC_SEQ_CST))
		return;
	pthread_mutex_lock(&ctx->drain_lock);
	pthread_cond_broadcast(&ctx->drained);
	pthread_mutex_unlock(&ctx->drain_lock);
}

static unsigned int reap_ring(struct blk_ctx *ctx)
{
	struct io_uring_cqe *cqe;
	unsigned int finished = 0;

	for (;;) {
		unsigned int head, seen = 0;

		io_uring_for_each_cqe(&ctx->ring, head, cqe) {
			struct blk_req *req = io_uring_cqe_get_data(cqe);

			seen++;
			if (ring_done(ctx, req, cqe->res)) {
				req->done(req, req->result);
				finished++;
			}
		}
		if (!seen)
			return finished;
		io_uring_cq_advance(&ctx->ring, seen);
	}
}

static unsigned int reap_pool(struct blk_ctx *ctx)
{
	struct blk_req *req, *next;
	unsigned int finished = 0;

	pthread_mutex_lock(&ctx->done_lock);
	req = ctx->done_first;
	__atomic_store_n(&ctx->done_first, NULL, __ATOMIC_RELAXED);
	ctx->done_last = NULL;
	pthread_mutex_unlock(&ctx->done_lock);
	for (; req; req = next) {
		next = req->next;
		req->done(req, req->result);
		finished++;
	}
	return finished;
}

/* Completions, then resubmissions (short transfers), then the device's
 * end-of-batch work; only then do the finished requests stop counting as
 * in flight, so a drainer never returns while the device still works on
 * behalf of one of them. */
static unsigned int reap(struct blk_ctx *ctx)
{
	unsigned int finished = 0;

	if (ctx->have_ring)
		finished += reap_ring(ctx);
	finished += reap_pool(ctx);
	blk_ctx_commit(ctx);
	if (finished && ctx->batch_end)
		ctx->batch_end(ctx->batch_opaque);
	if (finished) {
		__atomic_sub_fetch(&ctx->inflight, finished, __ATOMIC_SEQ_CST);
		wake_drainer(ctx);
	}
	return finished;
}

bool blk_ctx_poll(struct blk_ctx *ctx)
{
	bool ready = __atomic_load_n(&ctx->done_first, __ATOMIC_ACQUIRE) ||
		     (ctx->have_ring && io_uring_cq_ready(&ctx->ring));

	return ready && reap(ctx) > 0;
}

void blk_ctx_signal_completions(struct blk_ctx *ctx, bool on)
{
	if (ctx->have_ring)
		io_uring_cq_eventfd_toggle(&ctx->ring, on);
	if (on)
		blk_ctx_poll(ctx); /* what completed unsignalled meanwhile */
}

void blk_ctx_drain(struct blk_ctx *ctx)
{
	/* On the loop's own thread nobody else reaps: do it here. */
	if (ctx->loop->thread_started && pthread_equal(pthread_self(), ctx->loop->thread)) {
		while (blk_ctx_inflight(ctx)) {
			struct pollfd p = { .fd = ctx->efd, .events = POLLIN };

			if (poll(&p, 1, -1) > 0)
				on_completion(ctx, EPOLLIN);
		}
		return;
	}
	pthread_mutex_lock(&ctx->drain_lock);
	__atomic_store_n(&ctx->draining, true, __ATOMIC_SEQ_CST);
	while (blk_ctx_inflight(ctx))
		pthread_cond_wait(&ctx->drained, &ctx->drain_lock);
	__atomic_store_n(&ctx->draining, false, __ATOMIC_SEQ_CST);
	pthread_mutex_unlock(&ctx->drain_lock);
}
