#define LOG_TAG "virtio-net"
/* The virtio-net data path, one queue pair at a time, on the pair's I/O
 * thread.
 *
 * Receive: the driver's buffers are taken from the ring ahead of time until
 * the largest frame the driver may get fits (with MRG_RXBUF a frame spans
 * several buffers), and the backend reads each frame straight into them:
 * one copy, by the kernel.  What a frame did not use stays for the next
 * one.  When the driver has posted too few buffers the pair stops polling
 * the backend (the kernel queues, then drops, what arrives: sardine never
 * reads a frame it cannot deliver) and waits for the driver's kick.
 *
 * Transmit: many frames per wakeup, each written with one writev from
 * guest memory behind a checked copy of its header.  When the backend is
 * full the frame waits and the pair polls for writability.
 *
 * Both directions publish a batch of used buffers at once and interrupt
 * the driver once per batch, as EVENT_IDX allows. */
#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "virtio/net_dev.h"

/* The longest frame without offloads: a 1500-byte MTU plus the Ethernet
 * header. */
#define ETH_FRAME_MAX 1514

static struct virtqueue *rxq(struct net_pair *p)
{
	return &p->net->dev.vqs[2 * p->index];
}

static struct virtqueue *txq(struct net_pair *p)
{
	return &p->net->dev.vqs[2 * p->index + 1];
}

static bool link_up(const struct virtio_net *n)
{
	return __atomic_load_n(&n->link_up, __ATOMIC_ACQUIRE);
}

static bool broken(const struct virtio_net *n)
{
	return __atomic_load_n(&n->dev.broken, __ATOMIC_ACQUIRE);
}

static bool rx_wanted(const struct net_pair *p)
{
	return p->registered && !p->dead && p->active && !p->rx_starved && link_up(p->net) &&
	       !broken(p->net);
}

void net_pair_update_events(struct net_pair *p)
{
	uint32_t want = 0;

	if (!p->registered || p->dead)
		return;
	if (rx_wanted(p))
		want |= EPOLLIN;
	if (p->tx_blocked && !broken(p->net))
		want |= EPOLLOUT;
	if (want != p->events && event_loop_mod(p->loop, p->fd, want) == 0)
		p->events = want;
}

void net_pair_clear(struct net_pair *p)
{
	p->nchains = p->niov = 0;
	p->stash_bytes = 0;
	p->rx_starved = p->tx_blocked = p->tx_held = false;
}

static void count_drop(struct net_pair *p, enum net_verdict v, bool rx)
{
	if (rx)
		p->c.rx_dropped++;
	else
		p->c.tx_dropped++;
	switch (v) {
	case NET_DROP_RUNT: p->c.runt++; break;
	case NET_DROP_OVERSIZE: p->c.oversize++; break;
	default: p->c.bad_header++; break;
	}
	__atomic_add_fetch(&p->net->dev.stats.errors, 1, __ATOMIC_RELAXED);
}

/* The backend queue failed for good (the TAP was deleted): stop polling it
 * rather than spin on its error. */
static void pair_fail(struct net_pair *p, const char *why)
{
	struct virtio_net *n = p->net;

	log_warn("%s: queue pair %u: %s; it stops", n->name, p->index, why);
	p->dead = true;
	event_loop_del(p->loop, p->fd);
}

/* Mirrors a batch's work into the device-wide counters. */
static void add_stats(struct net_pair *p, const struct virtio_net_counters *before)
{
	struct virtio_stats *s = &p->net->dev.stats;
	uint64_t frames = (p->c.rx_packets - before->rx_packets) +
			  (p->c.tx_packets - before->tx_packets);

	if (frames)
		__atomic_add_fetch(&s->requests, frames, __ATOMIC_RELAXED);
	if (p->c.rx_bytes != before->rx_bytes)
		__atomic_add_fetch(&s->write_bytes, p->c.rx_bytes - before->rx_bytes,
				   __ATOMIC_RELAXED);
	if (p->c.tx_bytes != before->tx_bytes)
		__atomic_add_fetch(&s->read_bytes, p->c.tx_bytes - before->tx_bytes,
				   __ATOMIC_RELAXED);
}

/* ---- receive ---- */

/* Takes buffers from the ring until the largest frame fits (one buffer
 * without MRG_RXBUF).  1: ready to read; 0: the driver posted too few;
 * -EINVAL: the ring is broken.  *returned counts buffers given back unused. */
static int rx_fill(struct net_pair *p, unsigned int *returned)
{
	struct virtio_net *n = p->net;
	struct virtqueue *vq = rxq(p);
	struct virtq_elem *e = &p->rx_elem;

	while (n->mergeable ? p->stash_bytes < n->rx_need : p->nchains == 0) {
		int got;

		/* All we can hold: a longer frame will not fit and is dropped. */
		if (p->nchains == NET_RX_MAX_CHAINS ||
		    p->niov + NET_RX_CHAIN_MAX_IOV > NET_RX_MAX_IOV)
			return 1;
		got = virtq_pop(vq, e);
		if (got < 0)
			return -EINVAL;
		if (got == 0)
			/* Holding every buffer the ring has: read with those. */
			return p->nchains && p->nchains >= vq->size ? 1 : 0;
		if (e->out_num || e->in_len < VIRTIO_NET_HDR_LEN ||
		    e->in_num > NET_RX_CHAIN_MAX_IOV || e->in_len > UINT32_MAX) {
			/* Unusable: back empty, which drivers take as a
			 * length error and recycle. */
			virtq_push(vq, e->head, 0);
			(*returned)++;
			p->c.bad_buffers++;
			__atomic_add_fetch(&n->dev.stats.errors, 1, __ATOMIC_RELAXED);
			continue;
		}
		memcpy(p->rx_iov + p->niov, e->iov, e->in_num * sizeof(struct iovec));
		p->chains[p->nchains++] = (struct net_rx_chain){
			.head = e->head, .niov = (uint16_t)e->in_num, .len = (uint32_t)e->in_len
		};
		p->niov += e->in_num;
		p->stash_bytes += e->in_len;
	}
	return 1;
}

/* How many segments to read into: enough buffers for the largest frame. */
static int rx_offer(struct net_pair *p, uint64_t *bytes)
{
	unsigned int last = p->net->mergeable ? p->nchains : 1, iovs = 0;
	uint64_t have = 0;

	for (unsigned int i = 0; i < last && have < p->net->rx_need; i++) {
		iovs += p->chains[i].niov;
		have += p->chains[i].len;
	}
	*bytes = have;
	return (int)iovs;
}

/* Forgets the first k buffers (now the driver's again). */
static void rx_consume(struct net_pair *p, unsigned int k)
{
	unsigned int iovs = 0;

	for (unsigned int i = 0; i < k; i++) {
		iovs += p->chains[i].niov;
		p->stash_bytes -= p->chains[i].len;
	}
	memmove(p->chains, p->chains + k, (p->nchains - k) * sizeof(p->chains[0]));
	memmove(p->rx_iov, p->rx_iov + iovs, (p->niov - iovs) * sizeof(p->rx_iov[0]));
	p->nchains -= k;
	p->niov -= iovs;
}

static bool rx_accept(struct virtio_net *n, const uint8_t dst[ETH_ALEN])
{
	bool ok;

	if (__atomic_load_n(&n->promisc, __ATOMIC_ACQUIRE))
		return true;
	pthread_mutex_lock(&n->filter_lock);
	ok = net_filter_accept(&n->filter, n->filter_mac, dst);
	pthread_mutex_unlock(&n->filter_lock);
	return ok;
}

/* A frame of len bytes (header included) was read into the held buffers,
 * of which `offered` bytes were given to the backend.  Delivers it, or
 * drops it and keeps the buffers for the next frame.  Returns the buffers
 * it used. */
static unsigned int rx_frame(struct net_pair *p, uint64_t len, uint64_t offered)
{
	struct virtio_net *n = p->net;
	struct virtqueue *vq = rxq(p);
	struct virtio_net_hdr h;
	enum net_verdict v;
	uint8_t dst[ETH_ALEN];
	uint64_t left = len;
	unsigned int k = 0;

	if (len > offered) {
		v = NET_DROP_OVERSIZE; /* it ran into rx_overflow: cut short */
	} else if (len < VIRTIO_NET_HDR_LEN) {
		v = NET_DROP_RUNT;
	} else {
		iov_to_buf(p->rx_iov, p->niov, 0, &h, sizeof(h));
		v = net_rx_check(&h, len - VIRTIO_NET_HDR_LEN,
				 __atomic_load_n(&n->offloads, __ATOMIC_RELAXED), n->dev.acked,
				 n->backend->mtu);
	}
	if (v != NET_PASS) {
		count_drop(p, v, true);
		return 0;
	}
	iov_to_buf(p->rx_iov, p->niov, VIRTIO_NET_HDR_LEN, dst, ETH_ALEN);
	if (!rx_accept(n, dst)) {
		p->c.filtered++;
		return 0;
	}
	while (left && k < p->nchains) {
		uint32_t used = left < p->chains[k].len ? (uint32_t)left : p->chains[k].len;

		virtq_fill(vq, k, p->chains[k].head, used);
		left -= used;
		k++;
	}
	h.num_buffers = (uint16_t)k;
	iov_from_buf(p->rx_iov, p->niov, 0, &h, sizeof(h));
	/* All buffers of the frame at once: a driver must never see the
	 * first without the rest. */
	virtq_flush(vq, k);
	rx_consume(p, k);
	p->c.rx_packets++;
	p->c.rx_bytes += len - VIRTIO_NET_HDR_LEN;
	if (len - VIRTIO_NET_HDR_LEN > ETH_FRAME_MAX)
		p->c.rx_large++;
	return k;
}

static void rx_process(struct net_pair *p)
{
	struct virtio_net *n = p->net;
	struct virtqueue *vq = rxq(p);
	struct virtio_net_counters before = p->c;
	unsigned int frames = 0, unsignalled = 0;

	while (rx_wanted(p) && frames < NET_RX_BUDGET) {
		uint64_t offered;
		struct iovec saved;
		ssize_t len;
		int iovs, ready = rx_fill(p, &unsignalled);

		if (ready < 0) {
			virtio_set_broken(&n->dev, "malformed receive queue");
			break;
		}
		if (ready == 0) {
			/* Sleep until the driver kicks, unless buffers came
			 * while we were deciding to. */
			if (!virtq_enable_notify(vq)) {
				p->rx_starved = true;
				p->c.rx_starved++;
				break;
			}
			virtq_disable_notify(vq);
			continue;
		}
		iovs = rx_offer(p, &offered);
		saved = p->rx_iov[iovs];
		p->rx_iov[iovs] = (struct iovec){ .iov_base = p->rx_overflow,
						  .iov_len = sizeof(p->rx_overflow) };
		len = n->backend->ops->recv(n->backend, p->index, p->rx_iov, iovs + 1);
		p->rx_iov[iovs] = saved;
		if (len == -EAGAIN)
			break;
		if (len < 0) {
			p->c.backend_errors++;
			pair_fail(p, strerror((int)-len));
			break;
		}
		unsignalled += rx_frame(p, (uint64_t)len, offered);
		frames++;
		if (unsignalled >= NET_NOTIFY_BATCH) {
			p->c.rx_interrupts += virtio_notify_queue(&n->dev, 2 * p->index);
			unsignalled = 0;
		}
	}
	if (unsignalled)
		p->c.rx_interrupts += virtio_notify_queue(&n->dev, 2 * p->index);
	io_sched_note_work(&p->loop->sched, frames);
	add_stats(p, &before);
}

/* ---- transmit ---- */

/* The frame in tx_elem as the backend gets it: a checked copy of the
 * header (the guest may rewrite its own while the kernel reads), then the
 * frame's segments straight from guest memory. */
static enum net_verdict tx_prepare(struct net_pair *p, int *iovcnt)
{
	struct virtq_elem *e = &p->tx_elem;
	size_t skip = VIRTIO_NET_HDR_LEN;
	unsigned int n = 1;
	enum net_verdict v;

	if (e->out_len < VIRTIO_NET_HDR_LEN)
		return NET_DROP_RUNT;
	iov_to_buf(e->iov, e->out_num, 0, &p->tx_hdr, sizeof(p->tx_hdr));
	v = net_tx_check(&p->tx_hdr, e->out_len - VIRTIO_NET_HDR_LEN, p->net->dev.acked);
	if (v != NET_PASS)
		return v;
	p->tx_iov[0] = (struct iovec){ .iov_base = &p->tx_hdr, .iov_len = VIRTIO_NET_HDR_LEN };
	for (unsigned int i = 0; i < e->out_num; i++) {
		size_t l = e->iov[i].iov_len;

		if (skip >= l) {
			skip -= l;
			continue;
		}
		if (n == NET_TX_MAX_IOV)
			return NET_DROP_OVERSIZE;
		p->tx_iov[n++] = (struct iovec){ .iov_base = (uint8_t *)e->iov[i].iov_base + skip,
						 .iov_len = l - skip };
		skip = 0;
	}
	*iovcnt = (int)n;
	return NET_PASS;
}

/* Sends tx_elem's frame, or drops and counts it; -EAGAIN: try later. */
static int tx_frame(struct net_pair *p)
{
	struct virtio_net *n = p->net;
	struct virtq_elem *e = &p->tx_elem;
	enum net_verdict v;
	ssize_t r;
	int iovcnt = 0;

	if (e->in_num) {
		/* A transmit request has nothing for the device to write. */
		p->c.tx_dropped++;
		p->c.bad_buffers++;
		__atomic_add_fetch(&n->dev.stats.errors, 1, __ATOMIC_RELAXED);
		return 0;
	}
	if (!link_up(n)) {
		p->c.tx_dropped++;
		p->c.link_down++;
		return 0;
	}
	v = tx_prepare(p, &iovcnt);
	if (v != NET_PASS) {
		count_drop(p, v, false);
		return 0;
	}
	r = n->backend->ops->send(n->backend, p->index, p->tx_iov, iovcnt);
	if (r == -EAGAIN)
		return -EAGAIN;
	if (r < 0) {
		/* The kernel refused it (the TAP is down, or did not like the
		 * frame): the frame is lost, as on a wire. */
		log_debug("%s: queue pair %u: TAP write: %s", n->name, p->index,
			  strerror((int)-r));
		p->c.tx_dropped++;
		p->c.backend_errors++;
		__atomic_add_fetch(&n->dev.stats.errors, 1, __ATOMIC_RELAXED);
		return 0;
	}
	p->c.tx_packets++;
	p->c.tx_bytes += e->out_len - VIRTIO_NET_HDR_LEN;
	if (e->out_len - VIRTIO_NET_HDR_LEN > ETH_FRAME_MAX)
		p->c.tx_large++;
	return 0;
}

static void tx_publish(struct net_pair *p, unsigned int *done)
{
	if (!*done)
		return;
	virtq_flush(txq(p), *done);
	p->c.tx_interrupts += virtio_notify_queue(&p->net->dev, 2 * p->index + 1);
	*done = 0;
}

static void tx_process(struct net_pair *p)
{
	struct virtio_net *n = p->net;
	struct virtqueue *vq = txq(p);
	struct virtio_net_counters before = p->c;
	unsigned int frames = 0, done = 0;
	uint64_t one = 1;

	if (p->tx_blocked || p->dead || broken(n) || !vq->ready)
		return;
	for (;;) {
		virtq_disable_notify(vq);
		while (frames < NET_TX_BUDGET) {
			if (!p->tx_held) {
				int got = virtq_pop(vq, &p->tx_elem);

				if (got < 0) {
					virtio_set_broken(&n->dev, "malformed transmit queue");
					goto out;
				}
				if (got == 0)
					break;
			}
			p->tx_held = false;
			if (tx_frame(p) == -EAGAIN) {
				p->tx_held = p->tx_blocked = true;
				goto out;
			}
			virtq_fill(vq, done++, p->tx_elem.head, 0);
			frames++;
			if (done >= NET_NOTIFY_BATCH)
				tx_publish(p, &done);
		}
		if (frames >= NET_TX_BUDGET) {
			/* Let the other direction run; continue from the loop. */
			if (write(p->wake_fd, &one, sizeof(one)) < 0)
				log_debug("%s: wake: %s", n->name, strerror(errno));
			break;
		}
		if (!virtq_enable_notify(vq))
			break;
	}
out:
	tx_publish(p, &done);
	io_sched_note_work(&p->loop->sched, frames);
	add_stats(p, &before);
}

/* ---- entry points (each takes the pair's lock) ---- */

void net_pair_kick_rx(struct net_pair *p)
{
	pthread_mutex_lock(&p->lock);
	p->c.rx_kicks++;
	if (p->rx_starved) {
		p->rx_starved = false;
		virtq_disable_notify(rxq(p));
	}
	rx_process(p);
	net_pair_update_events(p);
	pthread_mutex_unlock(&p->lock);
}

static void tx_resume(struct net_pair *p)
{
	pthread_mutex_lock(&p->lock);
	tx_process(p);
	net_pair_update_events(p);
	pthread_mutex_unlock(&p->lock);
}

void net_pair_kick_tx(struct net_pair *p)
{
	pthread_mutex_lock(&p->lock);
	p->c.tx_kicks++;
	tx_process(p);
	net_pair_update_events(p);
	pthread_mutex_unlock(&p->lock);
}

void net_pair_on_backend(void *opaque, uint32_t events)
{
	struct net_pair *p = opaque;

	pthread_mutex_lock(&p->lock);
	if (events & (EPOLLERR | EPOLLHUP)) {
		if (!p->dead)
			pair_fail(p, "the TAP queue reports an error");
	} else {
		if ((events & EPOLLOUT) && p->tx_blocked) {
			p->tx_blocked = false;
			tx_process(p);
		}
		if (events & EPOLLIN)
			rx_process(p);
		net_pair_update_events(p);
	}
	pthread_mutex_unlock(&p->lock);
}

void net_pair_on_wake(void *opaque, uint32_t events)
{
	struct net_pair *p = opaque;
	uint64_t v;

	if (read(p->wake_fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		log_debug("%s: wake: %s", p->net->name, strerror(errno));
	tx_resume(p);
}
