#define LOG_TAG "virtio-blk"
/* virtio-blk: a disk image as a block device of the guest (virtio 1.2, 5.2).
 *
 * Each virtqueue has a submission context (block/ctx.c) on the I/O thread
 * that serves the queue, and a fixed array of request slots, as many as
 * the queue has entries: a guest can never have more requests in flight
 * than that, and when it tries (by reusing descriptors) the queue simply
 * stalls until slots come back.  Requests are parsed and validated by
 * virtio/blk_req.c, handed to the engine in batches (one submission per
 * kick), and completed in batches (one interrupt per batch).
 *
 * Reset stops the kicks (the transport), then waits until every request
 * in flight has completed: the kernel may be writing guest memory for them
 * until then.  Completions that arrive while a reset waits, or after the
 * device was marked broken, are dropped without touching the rings. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "block/block.h"
#include "virtio/blk_req.h"
#include "virtio/devices.h"
#include "virtio/virtio.h"
#include "vmm/vm.h"

#define BLK_QUEUE_SIZE 256
#define BLK_SEG_MAX (BLK_QUEUE_SIZE - 2) /* header and status take two */
#define BLK_SIZE_MAX (1u << 20)
#define BLK_MAX_QUEUES 64
#define BLK_MAX_IO_THREADS 4
#define BLK_MAX_DISCARD_SECTORS (1u << 22) /* 2 GiB a range */
#define BLK_POLL_ENV "SARDINE_BLK_POLL_US" /* longest poll, microseconds */
#define BLK_POLL_MIN_NS 1000
#define BLK_POLL_MAX_ROUNDS 16 /* windows one poll may last, at most */

struct virtio_blk;

struct blk_slot {
	struct blk_req io;
	struct vblk_request req;
	struct blk_queue *q;
	uint16_t head;
	struct blk_slot *next_free;
};

struct blk_queue {
	struct virtio_blk *blk;
	unsigned int index;
	struct blk_ctx *ctx;
	struct blk_slot *slots;
	struct blk_slot *free;
	bool stalled;  /* out of slots: resume when one comes back */
	bool stopping; /* a reset or destroy waits: leave the rings alone */
	bool pushed;   /* used entries not yet signalled */
	bool polling;
	uint64_t poll_ns; /* current polling window (adaptive) */
	struct io_sched *sched; /* its I/O thread's policy (vmm/io_sched.h) */
	struct virtq_elem elem;
};

struct virtio_blk {
	struct virtio_dev dev;
	char name[24];
	char serial[DISK_SERIAL_MAX + 1];
	struct blk_image *img; /* borrowed from the runner */
	struct vblk_config config;
	struct vblk_limits limits; /* final at activation */
	uint64_t poll_max_ns;      /* 0: never poll */
	struct blk_queue *queues;
};

static void reset_slots(struct blk_queue *q)
{
	q->free = NULL;
	for (unsigned int i = BLK_QUEUE_SIZE; i-- > 0;) {
		q->slots[i].next_free = q->free;
		q->free = &q->slots[i];
	}
	q->stalled = false;
	q->pushed = false;
}

static bool leave_rings_alone(struct blk_queue *q)
{
	return __atomic_load_n(&q->stopping, __ATOMIC_ACQUIRE) ||
	       __atomic_load_n(&q->blk->dev.broken, __ATOMIC_ACQUIRE);
}

static void count(uint64_t *counter, uint64_t n)
{
	__atomic_add_fetch(counter, n, __ATOMIC_RELAXED);
}

/* Answers a request and gives its slot back. */
static void finish(struct blk_queue *q, struct blk_slot *s, uint8_t status)
{
	struct virtio_dev *d = &q->blk->dev;

	if (status != VIRTIO_BLK_S_OK)
		count(&d->stats.errors, 1);
	if (!leave_rings_alone(q)) {
		__atomic_store_n(s->req.status, status, __ATOMIC_RELAXED);
		virtq_push(&d->vqs[q->index], s->head,
			   status == VIRTIO_BLK_S_OK ? s->req.used_len : 1);
		q->pushed = true;
	}
	s->next_free = q->free;
	q->free = s;
}

static void notify_pushed(struct blk_queue *q)
{
	if (q->pushed && !leave_rings_alone(q)) {
		q->pushed = false;
		virtio_notify_queue(&q->blk->dev, q->index);
	}
}

static void io_done(struct blk_req *io, int ret)
{
	struct blk_slot *s = (struct blk_slot *)io; /* io is the first member */
	struct virtio_dev *d = &s->q->blk->dev;

	if (ret == 0 && s->req.type == VIRTIO_BLK_T_IN)
		count(&d->stats.read_bytes, s->req.data_len);
	else if (ret == 0 && s->req.type == VIRTIO_BLK_T_OUT)
		count(&d->stats.write_bytes, s->req.data_len);
	else if (ret && ret != -EPERM) /* EPERM: the block layer's guard said why */
		log_guest(&d->rl, "%s: %s of sector %llu failed: %s", d->name,
			  s->req.type == VIRTIO_BLK_T_IN ? "read" : "request",
			  (unsigned long long)s->req.sector, strerror(-ret));
	finish(s->q, s, ret ? VIRTIO_BLK_S_IOERR : VIRTIO_BLK_S_OK);
}

/* Starts one parsed request, or answers it at once. */
static void start(struct blk_queue *q, struct blk_slot *s)
{
	struct virtio_blk *blk = q->blk;
	struct vblk_request *r = &s->req;
	struct blk_req *io = &s->io;

	switch (r->type) {
	case VIRTIO_BLK_T_IN:
	case VIRTIO_BLK_T_OUT:
		if (r->data_len == 0)
			break; /* nothing to move */
		io->op = r->type == VIRTIO_BLK_T_IN ? BLK_OP_READ : BLK_OP_WRITE;
		io->offset = r->sector * BLK_SECTOR;
		io->iov = r->data;
		io->iovcnt = r->data_cnt;
		io->len = r->data_len;
		blk_ctx_submit(q->ctx, io);
		return;
	case VIRTIO_BLK_T_FLUSH:
		/* Done only once the data is durable (fdatasync). */
		io->op = BLK_OP_FLUSH;
		blk_ctx_submit(q->ctx, io);
		return;
	case VIRTIO_BLK_T_GET_ID:
		r->used_len = vblk_write_id(r, blk->serial) + 1;
		break;
	case VIRTIO_BLK_T_DISCARD:
	case VIRTIO_BLK_T_WRITE_ZEROES:
		if (r->nr_ranges == 0)
			break;
		io->op = r->type == VIRTIO_BLK_T_DISCARD ? BLK_OP_DISCARD : BLK_OP_WRITE_ZEROES;
		io->ranges = r->ranges;
		io->nr_ranges = r->nr_ranges;
		io->may_unmap = r->unmap;
		blk_ctx_submit(q->ctx, io);
		return;
	}
	finish(q, s, VIRTIO_BLK_S_OK);
}

/* Takes requests until the ring is empty or the slots are all in use,
 * and sends them to the kernel in one go; false when the queue broke. */
static bool take_requests(struct blk_queue *q)
{
	struct virtio_dev *d = &q->blk->dev;
	struct virtqueue *vq = &d->vqs[q->index];

	for (;;) {
		struct blk_slot *s = q->free;
		int got, status;

		if (!s) {
			q->stalled = true; /* notifications stay off */
			break;
		}
		got = virtq_pop(vq, &q->elem);
		if (got == 0)
			break;
		if (got < 0) {
			virtio_set_broken(d, "malformed descriptor chain");
			break;
		}
		q->free = s->next_free;
		s->head = q->elem.head;
		count(&d->stats.requests, 1);
		status = vblk_parse(&q->blk->limits, &q->elem, &s->req);
		if (status < 0) {
			s->next_free = q->free;
			q->free = s;
			virtio_set_broken(d, "request without header or status byte");
			break;
		}
		if (status > 0)
			finish(q, s, (uint8_t)status);
		else
			start(q, s);
	}
	/* Everything taken goes to the kernel now, in one call. */
	blk_ctx_commit(q->ctx);
	notify_pushed(q);
	return !leave_rings_alone(q);
}

static void process_queue(struct blk_queue *q)
{
	struct virtqueue *vq = &q->blk->dev.vqs[q->index];

	if (leave_rings_alone(q))
		return;
	do {
		virtq_disable_notify(vq);
		if (!take_requests(q) || q->stalled)
			return;
	} while (virtq_enable_notify(vq));
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* While requests are in flight the driver is likely to add more soon and
 * their completions are near: spin for a short window instead of sleeping,
 * with the driver's notifications (a VM exit each) and the completion
 * eventfd (a wakeup each) turned off.  The window doubles when polling
 * found work and halves when it did not, up to SARDINE_BLK_POLL_US (off
 * by default: it only pays where exits are dear and a core is free).
 * Runs on the queue's I/O thread from the kick handler (which a reset
 * stops first) or from the end of a completion batch (whose requests keep
 * counting as in flight until this returns), so a reset never overlaps. */
static void poll_queue(struct blk_queue *q)
{
	struct virtqueue *vq = &q->blk->dev.vqs[q->index];
	uint64_t deadline, give_up;
	bool found = false;

	if (!q->blk->poll_max_ns || q->polling || q->stalled || leave_rings_alone(q) ||
	    !blk_ctx_inflight(q->ctx))
		return;
	q->polling = true;
	virtq_suppress_notify(vq);
	blk_ctx_signal_completions(q->ctx, false);
	deadline = now_ns() + q->poll_ns;
	/* A driver that never stops adding work must not keep this thread
	 * (and a reset waiting for it) forever. */
	give_up = now_ns() + BLK_POLL_MAX_ROUNDS * q->blk->poll_max_ns;
	while (!leave_rings_alone(q) && (blk_ctx_inflight(q->ctx) || virtq_has_work(vq))) {
		bool work = false;

		if (virtq_has_work(vq) && !q->stalled) {
			if (!take_requests(q))
				break;
			work = true;
		}
		work |= blk_ctx_poll(q->ctx);
		if (work) {
			found = true;
			deadline = now_ns() + q->poll_ns;
		}
		if (now_ns() >= (deadline < give_up ? deadline : give_up))
			break;
	}
	blk_ctx_signal_completions(q->ctx, true);
	if (found)
		q->poll_ns = q->poll_ns * 2 < q->blk->poll_max_ns ? q->poll_ns * 2 : q->blk->poll_max_ns;
	else if (q->poll_ns / 2 >= BLK_POLL_MIN_NS)
		q->poll_ns /= 2;
	q->polling = false;
	process_queue(q); /* notifications back on, and what came meanwhile */
}

/* The thread batches only while the guest keeps requests in flight
 * (vmm/io_sched.h): one at a time, it waits for each reply.  (At the end
 * of a completion batch its requests still count as in flight.) */
static void note_depth(struct blk_queue *q)
{
	io_sched_note_depth(q->sched, blk_ctx_inflight(q->ctx));
}

static void blk_queue_notify(struct virtio_dev *d, unsigned int index)
{
	struct virtio_blk *blk = (struct virtio_blk *)d;

	process_queue(&blk->queues[index]);
	note_depth(&blk->queues[index]);
	poll_queue(&blk->queues[index]);
}

/* After a batch of completions, on the queue's I/O thread. */
static void batch_end(void *opaque)
{
	struct blk_queue *q = opaque;

	notify_pushed(q);
	note_depth(q);
	if (q->polling) { /* the polling loop takes what comes */
		if (q->free)
			q->stalled = false;
		return;
	}
	if (q->stalled && q->free) {
		q->stalled = false;
		process_queue(q);
	}
	poll_queue(q);
}

static void blk_config_read(struct virtio_dev *d, uint32_t off, uint8_t *data, uint32_t len)
{
	struct virtio_blk *blk = (struct virtio_blk *)d;

	memcpy(data, (const uint8_t *)&blk->config + off, len);
}

static int blk_activate(struct virtio_dev *d)
{
	struct virtio_blk *blk = (struct virtio_blk *)d;
	struct vblk_limits *lim = &blk->limits;

	lim->flush = virtio_has_feature(d, VIRTIO_BLK_F_FLUSH);
	lim->discard = virtio_has_feature(d, VIRTIO_BLK_F_DISCARD);
	lim->write_zeroes = virtio_has_feature(d, VIRTIO_BLK_F_WRITE_ZEROES);
	return 0;
}

/* Stops every queue and waits out its I/O; the rings are not touched
 * again until the queues are reset. */
static void quiesce(struct virtio_blk *blk)
{
	for (unsigned int i = 0; i < blk->dev.nr_queues; i++)
		__atomic_store_n(&blk->queues[i].stopping, true, __ATOMIC_RELEASE);
	for (unsigned int i = 0; i < blk->dev.nr_queues; i++)
		if (blk->queues[i].ctx)
			blk_ctx_drain(blk->queues[i].ctx);
}

static void blk_reset(struct virtio_dev *d)
{
	struct virtio_blk *blk = (struct virtio_blk *)d;

	quiesce(blk);
	for (unsigned int i = 0; i < d->nr_queues; i++) {
		reset_slots(&blk->queues[i]);
		__atomic_store_n(&blk->queues[i].stopping, false, __ATOMIC_RELEASE);
	}
}

static void blk_destroy(struct virtio_dev *d)
{
	struct virtio_blk *blk = (struct virtio_blk *)d;

	if (blk->queues) {
		quiesce(blk);
		for (unsigned int i = 0; i < d->nr_queues; i++) {
			blk_ctx_destroy(blk->queues[i].ctx);
			free(blk->queues[i].slots);
		}
		free(blk->queues);
	}
	virtio_dev_cleanup(d);
	free(blk);
}

static const struct virtio_dev_ops blk_ops = {
	.config_read = blk_config_read,
	.activate = blk_activate,
	.reset = blk_reset,
	.queue_notify = blk_queue_notify,
	.destroy = blk_destroy,
};

static unsigned int log2u(uint32_t v)
{
	unsigned int n = 0;

	while (v > 1) {
		v >>= 1;
		n++;
	}
	return n;
}

/* Features and configuration space from the image. */
static void describe(struct virtio_blk *blk, unsigned int nr_queues)
{
	const struct blk_image *img = blk->img;
	struct vblk_config *c = &blk->config;
	struct vblk_limits *lim = &blk->limits;
	uint32_t lbs = img->logical_block, align = img->physical_block / BLK_SECTOR;

	blk->dev.features |= VIRTIO_BLK_F_SIZE_MAX | VIRTIO_BLK_F_SEG_MAX | VIRTIO_BLK_F_BLK_SIZE |
			     VIRTIO_BLK_F_TOPOLOGY | VIRTIO_BLK_F_FLUSH | VIRTIO_BLK_F_MQ;
	if (img->readonly)
		blk->dev.features |= VIRTIO_BLK_F_RO;
	else
		blk->dev.features |= VIRTIO_BLK_F_DISCARD | VIRTIO_BLK_F_WRITE_ZEROES;

	memset(c, 0, sizeof(*c));
	c->capacity = htole64(img->size / BLK_SECTOR);
	c->size_max = htole32(BLK_SIZE_MAX);
	c->seg_max = htole32(BLK_SEG_MAX);
	c->blk_size = htole32(lbs);
	c->physical_block_exp = (uint8_t)log2u(img->physical_block / lbs);
	c->min_io_size = htole16((uint16_t)(img->physical_block / lbs));
	c->writeback = 1; /* flushes are honoured */
	c->num_queues = htole16((uint16_t)nr_queues);
	c->max_discard_sectors = htole32(BLK_MAX_DISCARD_SECTORS);
	c->max_discard_seg = htole32(BLK_MAX_RANGES);
	c->discard_sector_alignment = htole32(align);
	c->max_write_zeroes_sectors = htole32(BLK_MAX_DISCARD_SECTORS);
	c->max_write_zeroes_seg = htole32(BLK_MAX_RANGES);
	c->write_zeroes_may_unmap = 1;

	*lim = (struct vblk_limits){
		.capacity = img->size / BLK_SECTOR,
		.readonly = img->readonly,
		.seg_max = BLK_SEG_MAX,
		.size_max = BLK_SIZE_MAX,
		.max_discard_sectors = BLK_MAX_DISCARD_SECTORS,
		.max_discard_seg = BLK_MAX_RANGES,
		.max_write_zeroes_sectors = BLK_MAX_DISCARD_SECTORS,
		.max_write_zeroes_seg = BLK_MAX_RANGES,
	};
}

static int create_queues(struct virtio_blk *blk)
{
	struct virtio_dev *d = &blk->dev;
	struct event_loop *loop;
	int ret;

	blk->queues = calloc(d->nr_queues, sizeof(*blk->queues));
	if (!blk->queues)
		return -ENOMEM;
	for (unsigned int i = 0; i < d->nr_queues; i++) {
		struct blk_queue *q = &blk->queues[i];

		q->blk = blk;
		q->index = i;
		q->poll_ns = blk->poll_max_ns / 4 > BLK_POLL_MIN_NS ? blk->poll_max_ns / 4
								 : BLK_POLL_MIN_NS;
		q->slots = calloc(BLK_QUEUE_SIZE, sizeof(*q->slots));
		if (!q->slots)
			return -ENOMEM;
		for (unsigned int s = 0; s < BLK_QUEUE_SIZE; s++) {
			q->slots[s].q = q;
			q->slots[s].io.done = io_done;
		}
		reset_slots(q);
		loop = virtio_queue_loop(d, i);
		q->sched = &loop->sched;
		ret = blk_ctx_create(blk->img, loop, BLK_QUEUE_SIZE, &q->ctx);
		if (ret)
			return ret;
		blk_ctx_set_batch_end(q->ctx, batch_end, q);
	}
	return 0;
}

int virtio_blk_create(struct vm *vm, unsigned int index, const struct disk_config *cfg,
		      struct blk_image *img, struct virtio_dev **out)
{
	struct virtio_blk *blk = calloc(1, sizeof(*blk));
	unsigned int nr_queues = cfg->queues ? cfg->queues : vm->cfg->nr_cpus;
	unsigned int nr_threads;
	int ret;

	if (!blk)
		return -ENOMEM;
	if (nr_queues > BLK_MAX_QUEUES)
		nr_queues = BLK_MAX_QUEUES;
	nr_threads = nr_queues < BLK_MAX_IO_THREADS ? nr_queues : BLK_MAX_IO_THREADS;
	snprintf(blk->name, sizeof(blk->name), "virtio-blk%u", index);
	snprintf(blk->serial, sizeof(blk->serial), "%s", cfg->serial);
	ret = virtio_dev_init(&blk->dev, vm, blk->name, VIRTIO_ID_BLOCK, nr_queues, BLK_QUEUE_SIZE,
			      nr_threads);
	if (ret) {
		free(blk);
		return ret;
	}
	blk->dev.ops = &blk_ops;
	blk->dev.config_len = sizeof(blk->config);
	if (getenv(BLK_POLL_ENV))
		blk->poll_max_ns = strtoull(getenv(BLK_POLL_ENV), NULL, 10) * 1000;
	blk->img = img;
	describe(blk, nr_queues);
	ret = create_queues(blk);
	if (ret) {
		log_error("%s: cannot set up its queues: %s", blk->name, strerror(-ret));
		goto err;
	}
	log_debug("%s: %s, %llu sectors, %u queues, %s%s", blk->name, cfg->path,
		  (unsigned long long)(blk->img->size / BLK_SECTOR), nr_queues,
		  blk->img->engine == BLK_ENGINE_IO_URING ? "io_uring" : "thread pool",
		  blk->img->direct ? ", O_DIRECT" : "");
	*out = &blk->dev;
	return 0;
err:
	blk_destroy(&blk->dev);
	return ret;
}
