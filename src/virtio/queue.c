#include "virtio/queue.h"

#include <errno.h>
#include <string.h>

void virtq_init(struct virtqueue *vq, uint16_t max_size)
{
	memset(vq, 0, sizeof(*vq));
	vq->max_size = max_size;
	vq->cfg.size = max_size;
	vq->cfg.msix_vector = 0xffff;
}

void virtq_reset(struct virtqueue *vq)
{
	uint16_t max = vq->max_size;
	uint64_t requests = vq->requests, errors = vq->errors;

	virtq_init(vq, max);
	vq->requests = requests;
	vq->errors = errors;
}

int virtq_activate(struct virtqueue *vq, const struct guest_mem *mem, bool event_idx)
{
	uint64_t n = vq->cfg.size;
	uint64_t desc_len = 16 * n, avail_len = 6 + 2 * n, used_len = 6 + 8 * n;

	vq->ready = false;
	if (n == 0 || n > vq->max_size || (n & (n - 1)))
		return -EINVAL;
	/* Alignment from the virtio 1.x split ring layout. */
	if ((vq->cfg.desc & 15) || (vq->cfg.avail & 1) || (vq->cfg.used & 3))
		return -EINVAL;
	vq->desc = gm_ptr(mem, vq->cfg.desc, desc_len);
	vq->avail = gm_ptr(mem, vq->cfg.avail, avail_len);
	vq->used = gm_ptr(mem, vq->cfg.used, used_len);
	if (!vq->desc || !vq->avail || !vq->used)
		return -EINVAL;
	vq->mem = mem;
	vq->size = (uint16_t)n;
	vq->event_idx = event_idx;
	vq->last_avail = 0;
	vq->used_idx = 0;
	vq->signalled_used_valid = false;
	vq->ready = true;
	return 0;
}

static uint16_t load16(const uint16_t *p)
{
	return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

static void store16(uint16_t *p, uint16_t v)
{
	__atomic_store_n(p, v, __ATOMIC_RELEASE);
}

bool virtq_has_work(struct virtqueue *vq)
{
	return vq->ready && load16(&vq->avail->idx) != vq->last_avail;
}

/* Appends one buffer to elem, enforcing direction order and RAM bounds. */
static int add_buffer(struct virtqueue *vq, struct virtq_elem *elem, const struct vring_desc *d)
{
	bool writable = d->flags & VRING_DESC_F_WRITE;
	unsigned int n = elem->out_num + elem->in_num;

	if (!writable && elem->in_num)
		return -EINVAL; /* readable after writable */
	if (d->len == 0)
		return 0;
	if (gm_to_iov(vq->mem, d->addr, d->len, elem->iov, VIRTQ_MAX_SEGS, &n))
		return -EINVAL;
	if (writable) {
		elem->in_num = n - elem->out_num;
		elem->in_len += d->len;
	} else {
		elem->out_num = n;
		elem->out_len += d->len;
	}
	return 0;
}

/* Walks an indirect table: same rules, no nesting, own loop bound. */
static int walk_indirect(struct virtqueue *vq, struct virtq_elem *elem, const struct vring_desc *d)
{
	const struct vring_desc *table;
	uint32_t count = d->len / sizeof(struct vring_desc);
	uint32_t i = 0, steps = 0;

	if (d->len % sizeof(struct vring_desc) || count == 0 || count > VIRTQ_MAX_SIZE ||
	    (d->flags & VRING_DESC_F_NEXT))
		return -EINVAL;
	table = gm_ptr(vq->mem, d->addr, d->len);
	if (!table)
		return -EINVAL;
	for (;;) {
		struct vring_desc e;

		/* A copy: the guest may rewrite the table while we read it. */
		memcpy(&e, &table[i], sizeof(e));
		if ((e.flags & VRING_DESC_F_INDIRECT) || ++steps > count)
			return -EINVAL;
		if (add_buffer(vq, elem, &e))
			return -EINVAL;
		if (!(e.flags & VRING_DESC_F_NEXT))
			return 0;
		i = e.next;
		if (i >= count)
			return -EINVAL;
	}
}

int virtq_pop(struct virtqueue *vq, struct virtq_elem *elem)
{
	uint16_t size = vq->size, avail_idx, head, i;
	unsigned int steps = 0;

	if (!vq->ready)
		return 0;
	avail_idx = load16(&vq->avail->idx);
	if (avail_idx == vq->last_avail)
		return 0;
	if ((uint16_t)(avail_idx - vq->last_avail) > size)
		return -EINVAL; /* the driver claims more entries than the ring has */
	head = __atomic_load_n(&vq->avail->ring[vq->last_avail % size], __ATOMIC_RELAXED);
	if (head >= size)
		return -EINVAL;
	elem->head = head;
	elem->out_num = elem->in_num = 0;
	elem->out_len = elem->in_len = 0;
	for (i = head;;) {
		struct vring_desc d;

		memcpy(&d, &vq->desc[i], sizeof(d));
		if (++steps > size)
			return -EINVAL; /* a loop */
		if (d.flags & VRING_DESC_F_INDIRECT) {
			if (steps != 1 || walk_indirect(vq, elem, &d))
				return -EINVAL; /* indirect must be alone */
		} else if (add_buffer(vq, elem, &d)) {
			return -EINVAL;
		}
		if (!(d.flags & VRING_DESC_F_NEXT))
			break;
		i = d.next;
		if (i >= size)
			return -EINVAL;
	}
	vq->last_avail++;
	vq->requests++;
	return 1;
}

void virtq_fill(struct virtqueue *vq, unsigned int i, uint16_t head, uint32_t len)
{
	struct vring_used_elem *e = &vq->used->ring[(uint16_t)(vq->used_idx + i) % vq->size];

	e->id = head;
	e->len = len;
}

void virtq_flush(struct virtqueue *vq, unsigned int n)
{
	vq->used_idx = (uint16_t)(vq->used_idx + n);
	/* Release: the entries are visible before the index that covers them. */
	store16(&vq->used->idx, vq->used_idx);
}

void virtq_push(struct virtqueue *vq, uint16_t head, uint32_t len)
{
	virtq_fill(vq, 0, head, len);
	virtq_flush(vq, 1);
}

bool virtq_should_signal(struct virtqueue *vq)
{
	uint16_t old = vq->signalled_used, now = vq->used_idx, event;
	bool valid = vq->signalled_used_valid;

	/* Our used->idx store must be visible before we read the driver's
	 * event index or flags, or a wakeup could be lost. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (!vq->event_idx)
		return !(load16(&vq->avail->flags) & VRING_AVAIL_F_NO_INTERRUPT);
	vq->signalled_used = now;
	vq->signalled_used_valid = true;
	if (!valid)
		return true;
	event = load16(&vq->avail->ring[vq->size]); /* used_event */
	/* vring_need_event(): did the index cross the driver's event? */
	return (uint16_t)(now - event - 1) < (uint16_t)(now - old);
}

void virtq_disable_notify(struct virtqueue *vq)
{
	if (!vq->ready || vq->event_idx)
		return; /* with EVENT_IDX, simply not moving avail_event is enough */
	store16(&vq->used->flags, VRING_USED_F_NO_NOTIFY);
}

void virtq_suppress_notify(struct virtqueue *vq)
{
	if (!vq->ready)
		return;
	if (vq->event_idx) /* an index the driver has passed: no kick until re-armed */
		store16((uint16_t *)&vq->used->ring[vq->size], (uint16_t)(vq->last_avail - 1));
	else
		store16(&vq->used->flags, VRING_USED_F_NO_NOTIFY);
}

bool virtq_enable_notify(struct virtqueue *vq)
{
	if (!vq->ready)
		return false;
	if (vq->event_idx)
		store16((uint16_t *)&vq->used->ring[vq->size], vq->last_avail); /* avail_event */
	else
		store16(&vq->used->flags, 0);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return load16(&vq->avail->idx) != vq->last_avail;
}

size_t iov_to_buf(const struct iovec *iov, unsigned int n, size_t skip, void *buf, size_t len)
{
	uint8_t *dst = buf;
	size_t done = 0;

	for (unsigned int i = 0; i < n && done < len; i++) {
		size_t l = iov[i].iov_len, c;

		if (skip >= l) {
			skip -= l;
			continue;
		}
		c = l - skip < len - done ? l - skip : len - done;
		memcpy(dst + done, (uint8_t *)iov[i].iov_base + skip, c);
		done += c;
		skip = 0;
	}
	return done;
}

size_t iov_from_buf(const struct iovec *iov, unsigned int n, size_t skip, const void *buf,
		    size_t len)
{
	const uint8_t *src = buf;
	size_t done = 0;

	for (unsigned int i = 0; i < n && done < len; i++) {
		size_t l = iov[i].iov_len, c;

		if (skip >= l) {
			skip -= l;
			continue;
		}
		c = l - skip < len - done ? l - skip : len - done;
		memcpy((uint8_t *)iov[i].iov_base + skip, src + done, c);
		done += c;
		skip = 0;
	}
	return done;
}
