/* Split virtqueues, read defensively.
 *
 * The guest owns the rings and may change them at any time, so:
 *  - at activation the size must be a power of two within the maximum and
 *    every ring part aligned and wholly inside guest RAM; the host pointers
 *    and the size the rings are indexed with are fixed then (the transport
 *    also refuses queue register writes once the driver is running);
 *  - at run time the available index may not run more than a queue ahead,
 *    a chain is at most `size` descriptors long (loops end there), indirect
 *    tables get the same checks and may not nest, device-writable buffers
 *    come after readable ones, and every buffer must lie in guest RAM.
 * Any violation returns -EINVAL; the transport then marks the device
 * NEEDS_RESET.  Nothing a guest writes can make these functions crash,
 * loop forever or touch host memory outside guest RAM. */
#ifndef SARDINE_VIRTQUEUE_H
#define SARDINE_VIRTQUEUE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "vmm/guest_mem.h"

#define VIRTQ_MAX_SIZE 1024
#define VIRTQ_MAX_SEGS 1024 /* iovecs of one request, both directions */

#define VRING_DESC_F_NEXT 1
#define VRING_DESC_F_WRITE 2
#define VRING_DESC_F_INDIRECT 4
#define VRING_AVAIL_F_NO_INTERRUPT 1
#define VRING_USED_F_NO_NOTIFY 1

struct vring_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

struct vring_avail {
	uint16_t flags;
	uint16_t idx;
	uint16_t ring[]; /* then used_event */
};

struct vring_used_elem {
	uint32_t id;
	uint32_t len;
};

struct vring_used {
	uint16_t flags;
	uint16_t idx;
	struct vring_used_elem ring[]; /* then avail_event */
};

/* The part of a queue the driver programs (snapshot state, too). */
struct virtq_config {
	uint16_t size;
	uint16_t msix_vector;
	bool enabled;
	uint64_t desc, avail, used;
};

struct virtqueue {
	struct virtq_config cfg;
	uint16_t max_size;
	/* The size the rings were validated for at activation.  cfg.size is a
	 * register the driver may write again; the rings are only ever indexed
	 * with this one, so no later write can take an index (or a division)
	 * outside them. */
	uint16_t size;
	bool ready;      /* rings validated */
	bool event_idx;  /* VIRTIO_F_EVENT_IDX negotiated */
	const struct guest_mem *mem;
	struct vring_desc *desc;
	struct vring_avail *avail;
	struct vring_used *used;
	uint16_t last_avail; /* next available entry to take */
	uint16_t used_idx;   /* next used entry to fill */
	uint16_t signalled_used;
	bool signalled_used_valid;
	uint64_t requests, errors; /* counters */
};

/* One request: the chain's buffers, split by direction. */
struct virtq_elem {
	uint16_t head;
	unsigned int out_num, in_num; /* driver->device first, then device->driver */
	uint64_t out_len, in_len;
	struct iovec iov[VIRTQ_MAX_SEGS];
};

void virtq_init(struct virtqueue *vq, uint16_t max_size);
/* Validates the rings the driver programmed; -EINVAL when they are bad. */
int virtq_activate(struct virtqueue *vq, const struct guest_mem *mem, bool event_idx);
void virtq_reset(struct virtqueue *vq);

/* 1: a request in *elem; 0: none pending; -EINVAL: the guest broke a rule. */
int virtq_pop(struct virtqueue *vq, struct virtq_elem *elem);
/* Return a request with `len` bytes written into its device-writable part. */
void virtq_push(struct virtqueue *vq, uint16_t head, uint32_t len);
/* The same in two steps, for several requests that the driver must see
 * together (a received frame spread over several buffers) or to publish a
 * batch with one index update: virtq_fill() writes the used entry `i`
 * places past the next one, virtq_flush() makes `n` filled entries
 * visible at once. */
void virtq_fill(struct virtqueue *vq, unsigned int i, uint16_t head, uint32_t len);
void virtq_flush(struct virtqueue *vq, unsigned int n);
/* Whether the driver wants an interrupt for what was pushed since the last
 * signal (EVENT_IDX or the NO_INTERRUPT flag). */
bool virtq_should_signal(struct virtqueue *vq);
/* Ask for (or stop asking for) notifications; returns true when new work
 * arrived meanwhile, so the caller goes round again instead of sleeping. */
bool virtq_enable_notify(struct virtqueue *vq);
void virtq_disable_notify(struct virtqueue *vq);
/* Ask the driver not to notify at all, EVENT_IDX included (a device that
 * polls the ring); virtq_enable_notify() asks again. */
void virtq_suppress_notify(struct virtqueue *vq);
bool virtq_has_work(struct virtqueue *vq);

/* Copy helpers over an element's iovecs (bounded by their total length). */
size_t iov_to_buf(const struct iovec *iov, unsigned int n, size_t skip, void *buf, size_t len);
size_t iov_from_buf(const struct iovec *iov, unsigned int n, size_t skip, const void *buf,
		    size_t len);

#endif
