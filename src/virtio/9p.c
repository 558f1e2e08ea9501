#define LOG_TAG "virtio-9p"
/* virtio-9p: a host directory for the guest (virtio 1.2, 5.9).
 *
 * One request queue; the configuration space holds the mount tag.  The 9P
 * server itself is in src/9p.  Requests are served by a pool of I/O loops
 * that all listen for the queue's kick (queues_on_every_loop): a kick wakes
 * one idle loop, which takes requests off the ring itself until it is empty,
 * so a request crosses no thread between the guest's kick and its reply.
 * A loop that takes a request leaves the driver's notifications on (or
 * kicks once more when requests are waiting already), so the next request
 * wakes another loop: one slow request (a long fsync) holds one loop while
 * the others go on.  Used buffers are pushed under the queue lock; the
 * interrupt for a burst of completions is sent once, by the last loop to
 * push.  All work happens inside queue_notify, so reset and vm.pause, which
 * wait for the kick handlers, wait for the requests too.
 *
 * Tflush: the flushed request may be running on another loop; Rflush must
 * not overtake its reply.  The Rflush is then parked on that request and
 * pushed right after it; when the request is not in flight any more, it was
 * answered already and Rflush goes at once. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "9p/p9.h"
#include "9p/proto.h"
#include "virtio/devices.h"
#include "virtio/virtio.h"
#include "vmm/config.h"
#include "vmm/vm.h"

#define P9_QUEUE_SIZE 128
#define P9_IO_THREADS 4
#define VIRTIO_9P_MOUNT_TAG (1ULL << 0)
#define MIN_REPLY (P9_HDR_SIZE + 4) /* room for an Rlerror */

struct parked_flush {
	uint16_t head;
	uint32_t len;
	struct parked_flush *next;
};

struct virtio_9p;

struct io_thread { /* the state of one I/O loop */
	struct p9_worker *ctx;
	struct virtq_elem elem;
	bool busy;               /* serving elem (under dev->lock) */
	uint16_t tag;
	struct parked_flush *flushes; /* Rflushes to push after this request */
};

struct virtio_9p {
	struct virtio_dev dev;
	char name[24];
	struct p9_server *server;
	uint8_t config[2 + SHARE_TAG_MAX]; /* tag_len[le16] tag[tag_len] */
	pthread_mutex_t lock;    /* the ring, the fields below, io_thread state */
	bool running;            /* DRIVER_OK and not reset */
	unsigned int active, parked;
	unsigned int completing; /* atomic: loops on their way to push */
	unsigned int nr_threads;
	struct io_thread threads[P9_IO_THREADS]; /* threads[i] runs on dev.loops[i] */
};

static struct virtio_9p *v9p_of(struct virtio_dev *d)
{
	return (struct virtio_9p *)d;
}

static void config_read(struct virtio_dev *d, uint32_t off, uint8_t *data, uint32_t len)
{
	memcpy(data, v9p_of(d)->config + off, len);
}

static void msg_of(const struct virtq_elem *e, struct p9_msg *m)
{
	m->out = e->iov;
	m->out_num = e->out_num;
	m->out_len = e->out_len;
	m->in = e->iov + e->out_num;
	m->in_num = e->in_num;
	m->in_len = e->in_len;
}

/* Parks an Rflush behind the running request with oldtag; false when no
 * request with that tag is in flight (it was answered: reply now). */
static bool park_flush(struct virtio_9p *v, struct io_thread *self, uint16_t oldtag,
		       uint16_t head, uint32_t len)
{
	struct parked_flush *p;
	bool parked = false;

	pthread_mutex_lock(&v->lock);
	for (unsigned int i = 0; i < v->nr_threads && !parked; i++) {
		struct io_thread *t = &v->threads[i];

		if (t == self || !t->busy || t->tag != oldtag || v->parked >= P9_QUEUE_SIZE)
			continue;
		p = malloc(sizeof(*p));
		if (!p)
			break;
		p->head = head;
		p->len = len;
		p->next = t->flushes;
		t->flushes = p;
		v->parked++;
		parked = true;
	}
	if (parked) {
		self->busy = false;
		v->active--;
	}
	pthread_mutex_unlock(&v->lock);
	return parked;
}

/* Serves t->elem; returns false when its reply was parked instead. */
static bool serve(struct virtio_9p *v, struct io_thread *t, uint32_t *len)
{
	struct p9_msg m;
	uint16_t tag, oldtag;
	uint8_t type;

	msg_of(&t->elem, &m);
	if (p9_peek(&m, &type, &tag, &oldtag) == 0 && type == P9_TFLUSH) {
		/* The reply is written now; only its push waits. */
		*len = p9_reply_flush(&m, tag);
		return !park_flush(v, t, oldtag, t->elem.head, *len);
	}
	*len = p9_handle(v->server, t->ctx, &m);
	return true;
}

/* Pushes t's reply and the Rflushes parked on it; lock held. */
static void complete_locked(struct virtio_9p *v, struct io_thread *t, uint32_t len)
{
	struct virtqueue *vq = &v->dev.vqs[0];
	struct parked_flush *p = t->flushes;

	virtq_push(vq, t->elem.head, len);
	/* Parked in arrival order reversed: push the oldest first. */
	while (p) {
		struct parked_flush *prev = NULL, *q = p;

		while (q->next) {
			prev = q;
			q = q->next;
		}
		virtq_push(vq, q->head, q->len);
		if (prev)
			prev->next = NULL;
		else
			p = NULL;
		free(q);
		v->parked--;
	}
	t->flushes = NULL;
	t->busy = false;
	v->active--;
	v->dev.stats.requests++;
}

/* Takes the next request for t; lock held.  1: got one, 0: go idle. */
static int take_locked(struct virtio_9p *v, struct io_thread *t)
{
	struct virtio_dev *d = &v->dev;
	struct virtqueue *vq = &d->vqs[0];
	int got;

	if (!v->running || __atomic_load_n(&d->broken, __ATOMIC_ACQUIRE))
		return 0;
	got = virtq_pop(vq, &t->elem);
	if (got == 0) {
		/* Ask for a kick, then look once more: it may have raced. */
		if (!virtq_enable_notify(vq))
			return 0;
		got = virtq_pop(vq, &t->elem);
	}
	if (got < 0) {
		v->running = false;
		virtio_set_broken(d, "malformed request queue");
		return 0;
	}
	if (got == 0)
		return 0;
	if (t->elem.in_len < MIN_REPLY) {
		virtq_push(vq, t->elem.head, 0);
		v->running = false;
		virtio_set_broken(d, "a request without room for its reply");
		return 0;
	}
	/* While this request is served, the next must reach another loop: one
	 * waiting already is shared out with a kick, a later one kicks (with
	 * the driver's notifications off it would wait behind this one). */
	if ((virtq_has_work(vq) || virtq_enable_notify(vq)) && v->active + 1 < v->nr_threads)
		virtio_kick_queue(d, 0);
	{
		struct p9_msg m;
		uint16_t oldtag;
		uint8_t type;

		msg_of(&t->elem, &m);
		if (p9_peek(&m, &type, &t->tag, &oldtag))
			t->tag = P9_NOTAG;
	}
	t->busy = true;
	v->active++;
	return 1;
}

/* The I/O loop this thread runs, NULL when it is not one of ours. */
static struct io_thread *self_of(struct virtio_9p *v)
{
	pthread_t me = pthread_self();

	for (unsigned int i = 0; i < v->nr_threads; i++)
		if (pthread_equal(me, v->dev.loops[i].runner))
			return &v->threads[i];
	return NULL;
}

/* Runs on whichever loop the kick woke: serve until the ring is empty. */
static void v9p_queue_notify(struct virtio_dev *d, unsigned int q)
{
	struct virtio_9p *v = v9p_of(d);
	struct io_thread *t = self_of(v);

	(void)q;
	if (!t)
		return;
	pthread_mutex_lock(&v->lock);
	virtq_disable_notify(&d->vqs[0]);
	while (take_locked(v, t)) {
		uint32_t len;
		bool reply;

		pthread_mutex_unlock(&v->lock);
		reply = serve(v, t, &len);
		if (reply)
			__atomic_add_fetch(&v->completing, 1, __ATOMIC_ACQ_REL);
		pthread_mutex_lock(&v->lock);
		if (!reply)
			continue; /* an Rflush parked on another request */
		complete_locked(v, t, len);
		/* The last of a burst of completions sends the interrupt. */
		if (__atomic_sub_fetch(&v->completing, 1, __ATOMIC_ACQ_REL) == 0)
			virtio_notify_queue(d, 0);
	}
	pthread_mutex_unlock(&v->lock);
}

static int v9p_activate(struct virtio_dev *d)
{
	struct virtio_9p *v = v9p_of(d);

	if (!d->vqs[0].ready)
		return -EINVAL;
	pthread_mutex_lock(&v->lock);
	v->running = true;
	pthread_mutex_unlock(&v->lock);
	return 0;
}

static void v9p_reset(struct virtio_dev *d)
{
	struct virtio_9p *v = v9p_of(d);

	/* The transport waited for the kick handlers, so no request is being
	 * served: nothing of ours touches guest memory after this. */
	pthread_mutex_lock(&v->lock);
	v->running = false;
	pthread_mutex_unlock(&v->lock);
	p9_server_reset(v->server);
}

static void v9p_destroy(struct virtio_dev *d)
{
	struct virtio_9p *v = v9p_of(d);

	virtio_dev_cleanup(d); /* stops the loops */
	for (unsigned int i = 0; i < v->nr_threads; i++)
		p9_worker_destroy(v->threads[i].ctx);
	p9_server_destroy(v->server);
	pthread_mutex_destroy(&v->lock);
	free(v);
}

static const struct virtio_dev_ops v9p_ops = {
	.config_read = config_read,
	.activate = v9p_activate,
	.reset = v9p_reset,
	.queue_notify = v9p_queue_notify,
	.destroy = v9p_destroy,
};

static int make_workers(struct virtio_9p *v)
{
	for (unsigned int i = 0; i < P9_IO_THREADS; i++) {
		v->threads[i].ctx = p9_worker_create();
		if (!v->threads[i].ctx)
			return -ENOMEM;
		v->nr_threads++;
	}
	return 0;
}

int virtio_9p_create(struct vm *vm, const struct share_config *share, unsigned int index,
		     struct virtio_dev **out)
{
	struct p9_config pc = {
		.root = share->path,
		.readonly = share->readonly,
		.mapped = share->security == SHARE_MAPPED,
		.nr_shares = vm->cfg->nr_shares,
	};
	struct virtio_9p *v = calloc(1, sizeof(*v));
	size_t tag_len = strlen(share->tag);
	int ret;

	if (!v)
		return -ENOMEM;
	pthread_mutex_init(&v->lock, NULL);
	snprintf(v->name, sizeof(v->name), "virtio-9p%u", index);
	ret = p9_server_create(&v->server, &pc);
	if (ret)
		goto err_free;
	ret = make_workers(v);
	if (ret)
		goto err_workers;
	ret = virtio_dev_init(&v->dev, vm, v->name, VIRTIO_ID_9P, 1, P9_QUEUE_SIZE, P9_IO_THREADS);
	if (ret)
		goto err_workers;
	v->dev.queues_on_every_loop = true;
	v->dev.ops = &v9p_ops;
	v->dev.features |= VIRTIO_9P_MOUNT_TAG;
	v->config[0] = (uint8_t)tag_len;
	v->config[1] = (uint8_t)(tag_len >> 8);
	memcpy(v->config + 2, share->tag, tag_len);
	v->dev.config_len = (uint32_t)(2 + tag_len);
	log_info("%s: %s as '%s'%s%s", v->name, share->path, share->tag,
		 share->readonly ? ", read-only" : "", pc.mapped ? ", mapped" : "");
	*out = &v->dev;
	return 0;

err_workers:
	for (unsigned int i = 0; i < v->nr_threads; i++)
		p9_worker_destroy(v->threads[i].ctx);
	p9_server_destroy(v->server);
err_free:
	pthread_mutex_destroy(&v->lock);
	free(v);
	return ret;
}
