#define LOG_TAG "virtio-net"
/* virtio-net on a network backend (a TAP): features, configuration space,
 * the control queue, link state and counters.  The data path is in
 * net_io.c, the protocol checks in net_proto.c.
 *
 * Features: MAC, STATUS, MTU, MRG_RXBUF, CSUM/GUEST_CSUM and the TSO, ECN,
 * UFO and USO offloads the kernel's TAP driver supports (probed), CTRL_VQ
 * with RX filtering (incl. RX_EXTRA), MAC table and address, announce,
 * guest offload control, and MQ with one queue pair per backend queue. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "virtio/devices.h"
#include "virtio/net_dev.h"
#include "vmm/vm.h"

#define CONFIG_LEN 12 /* mac, status, max_virtqueue_pairs, mtu */

static struct virtio_net *net_of(struct virtio_dev *d)
{
	return (struct virtio_net *)d;
}

bool virtio_is_net(const struct virtio_dev *d)
{
	return d->type == VIRTIO_ID_NET;
}

static void put_le16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void net_config_read(struct virtio_dev *d, uint32_t off, uint8_t *data, uint32_t len)
{
	struct virtio_net *n = net_of(d);
	uint8_t cfg[CONFIG_LEN];
	unsigned int mtu = n->backend->mtu < 65535 ? n->backend->mtu : 65535;

	pthread_mutex_lock(&n->cfg_lock);
	memcpy(cfg, n->mac, ETH_ALEN);
	put_le16(cfg + 6, n->status);
	pthread_mutex_unlock(&n->cfg_lock);
	put_le16(cfg + 8, (uint16_t)n->nr_pairs);
	put_le16(cfg + 10, (uint16_t)mtu);
	memcpy(data, cfg + off, len);
}

/* ---- queue pairs ---- */

static void set_attached(struct virtio_net *n, struct net_pair *p, bool on)
{
	int ret = n->backend->ops->enable_queue(n->backend, p->index, on);

	if (ret)
		log_warn("%s: cannot %s TAP queue %u: %s", n->name, on ? "attach" : "detach",
			 p->index, strerror(-ret));
}

/* The driver uses pairs [0, count): only those get frames. */
static void use_pairs(struct virtio_net *n, unsigned int count)
{
	for (unsigned int i = 0; i < n->nr_pairs; i++) {
		struct net_pair *p = &n->pairs[i];

		pthread_mutex_lock(&p->lock);
		p->active = p->usable && i < count;
		set_attached(n, p, p->active);
		net_pair_update_events(p);
		pthread_mutex_unlock(&p->lock);
	}
	n->active_pairs = count;
}

static void unregister_pair(struct net_pair *p)
{
	pthread_mutex_lock(&p->lock);
	p->registered = false;
	pthread_mutex_unlock(&p->lock);
	/* Without the lock: these wait for a running handler, which takes it. */
	event_loop_del(p->loop, p->fd);
	event_loop_del(p->loop, p->wake_fd);
	pthread_mutex_lock(&p->lock);
	net_pair_clear(p);
	p->events = 0;
	p->active = p->usable = false;
	pthread_mutex_unlock(&p->lock);
}

static int register_pair(struct net_pair *p)
{
	int ret;

	if (p->dead)
		return 0;
	ret = event_loop_add(p->loop, p->fd, 0, net_pair_on_backend, p);
	if (ret)
		return ret;
	ret = event_loop_add(p->loop, p->wake_fd, EPOLLIN, net_pair_on_wake, p);
	if (ret) {
		event_loop_del(p->loop, p->fd);
		return ret;
	}
	pthread_mutex_lock(&p->lock);
	p->registered = true;
	p->events = 0;
	net_pair_update_events(p);
	pthread_mutex_unlock(&p->lock);
	return 0;
}

/* ---- lifecycle ---- */

static int net_activate(struct virtio_dev *d)
{
	struct virtio_net *n = net_of(d);
	unsigned int gso = NET_OFFLOAD_TSO4 | NET_OFFLOAD_TSO6 | NET_OFFLOAD_UFO |
			   NET_OFFLOAD_USO4 | NET_OFFLOAD_USO6;
	unsigned int offloads = net_guest_offloads(d->acked) & n->backend->caps;
	int ret;

	ret = n->backend->ops->set_offloads(n->backend, offloads);
	if (ret) {
		log_error("%s: TUNSETOFFLOAD: %s", n->name, strerror(-ret));
		return ret;
	}
	__atomic_store_n(&n->offloads, offloads, __ATOMIC_RELAXED);
	n->mergeable = virtio_has_feature(d, VIRTIO_NET_F_MRG_RXBUF);
	/* Buffers for the largest frame the backend may hand us. */
	n->rx_need = VIRTIO_NET_HDR_LEN +
		     ((offloads & gso) ? NET_MAX_FRAME
				       : n->backend->mtu + NET_ETH_HLEN + NET_VLAN_HLEN);
	for (unsigned int i = 0; i < n->nr_pairs; i++) {
		struct net_pair *p = &n->pairs[i];

		pthread_mutex_lock(&p->lock);
		p->usable = d->vqs[2 * i].ready && d->vqs[2 * i + 1].ready;
		/* Receive kicks only matter when we wait for buffers. */
		virtq_disable_notify(&d->vqs[2 * i]);
		pthread_mutex_unlock(&p->lock);
	}
	/* Pair 0 only until the driver sets more (virtio 1.2, 5.1.6.5.5). */
	use_pairs(n, 1);
	for (unsigned int i = 0; i < n->nr_pairs; i++) {
		ret = register_pair(&n->pairs[i]);
		if (ret) {
			log_error("%s: cannot poll TAP queue %u: %s", n->name, i, strerror(-ret));
			while (i--)
				unregister_pair(&n->pairs[i]);
			return ret;
		}
	}
	return 0;
}

static void set_mac(struct virtio_net *n, const uint8_t mac[ETH_ALEN])
{
	pthread_mutex_lock(&n->cfg_lock);
	memcpy(n->mac, mac, ETH_ALEN);
	pthread_mutex_unlock(&n->cfg_lock);
	pthread_mutex_lock(&n->filter_lock);
	memcpy(n->filter_mac, mac, ETH_ALEN);
	pthread_mutex_unlock(&n->filter_lock);
}

static void reset_filter(struct virtio_net *n)
{
	pthread_mutex_lock(&n->filter_lock);
	net_filter_reset(&n->filter);
	__atomic_store_n(&n->promisc, true, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&n->filter_lock);
}

static void net_reset(struct virtio_dev *d)
{
	struct virtio_net *n = net_of(d);

	for (unsigned int i = 0; i < n->nr_pairs; i++)
		unregister_pair(&n->pairs[i]);
	n->active_pairs = 1;
	reset_filter(n);
	set_mac(n, n->default_mac);
	pthread_mutex_lock(&n->cfg_lock);
	n->status &= (uint16_t)~VIRTIO_NET_S_ANNOUNCE;
	pthread_mutex_unlock(&n->cfg_lock);
}

/* ---- control queue ---- */

static uint8_t set_offloads(struct virtio_net *n, uint64_t features)
{
	unsigned int offloads = net_guest_offloads(features) & n->backend->caps;
	int ret = n->backend->ops->set_offloads(n->backend, offloads);

	if (ret) {
		log_warn("%s: TUNSETOFFLOAD: %s", n->name, strerror(-ret));
		return VIRTIO_NET_ERR;
	}
	__atomic_store_n(&n->offloads, offloads, __ATOMIC_RELAXED);
	return VIRTIO_NET_OK;
}

static uint8_t set_pairs(struct virtio_net *n, unsigned int count)
{
	for (unsigned int i = 0; i < count; i++)
		if (!n->pairs[i].usable)
			return VIRTIO_NET_ERR; /* the driver did not enable its queues */
	use_pairs(n, count);
	log_debug("%s: %u queue pairs in use", n->name, count);
	return VIRTIO_NET_OK;
}

static uint8_t ctrl_command(struct virtio_net *n, const struct virtq_elem *e)
{
	struct net_ctrl_cmd *c = &n->ctrl_cmd;
	size_t len;

	if (e->out_len > sizeof(n->ctrl_buf))
		return VIRTIO_NET_ERR;
	len = iov_to_buf(e->iov, e->out_num, 0, n->ctrl_buf, sizeof(n->ctrl_buf));
	if (net_ctrl_parse(n->ctrl_buf, len, n->dev.acked, (uint16_t)n->nr_pairs, c))
		return VIRTIO_NET_ERR;
	switch (c->class) {
	case VIRTIO_NET_CTRL_RX:
	case VIRTIO_NET_CTRL_MAC:
		if (c->cmd == VIRTIO_NET_CTRL_MAC_ADDR_SET && c->class == VIRTIO_NET_CTRL_MAC) {
			set_mac(n, c->mac);
			return VIRTIO_NET_OK;
		}
		pthread_mutex_lock(&n->filter_lock);
		net_filter_apply(&n->filter, c);
		__atomic_store_n(&n->promisc, n->filter.promisc, __ATOMIC_RELEASE);
		pthread_mutex_unlock(&n->filter_lock);
		return VIRTIO_NET_OK;
	case VIRTIO_NET_CTRL_ANNOUNCE:
		pthread_mutex_lock(&n->cfg_lock);
		n->status &= (uint16_t)~VIRTIO_NET_S_ANNOUNCE;
		pthread_mutex_unlock(&n->cfg_lock);
		return VIRTIO_NET_OK;
	case VIRTIO_NET_CTRL_MQ:
		return set_pairs(n, c->pairs);
	case VIRTIO_NET_CTRL_GUEST_OFFLOADS:
		return set_offloads(n, c->offloads);
	default:
		return VIRTIO_NET_ERR;
	}
}

static void ctrl_process(struct virtio_net *n)
{
	struct virtio_dev *d = &n->dev;
	unsigned int q = net_ctrl_queue(n);
	struct virtqueue *vq = &d->vqs[q];
	struct virtq_elem *e = &n->ctrl_elem;
	bool more;

	do {
		int got;

		virtq_disable_notify(vq);
		while ((got = virtq_pop(vq, e)) > 0) {
			uint8_t ack;

			if (e->in_len < 1) {
				virtio_set_broken(d, "control request without room for its ack");
				return;
			}
			ack = ctrl_command(n, e);
			iov_from_buf(e->iov + e->out_num, e->in_num, 0, &ack, 1);
			virtq_push(vq, e->head, 1);
		}
		if (got < 0) {
			virtio_set_broken(d, "malformed control queue");
			return;
		}
		virtio_notify_queue(d, q);
		more = virtq_enable_notify(vq);
	} while (more);
}

static void net_queue_notify(struct virtio_dev *d, unsigned int q)
{
	struct virtio_net *n = net_of(d);

	if (q == net_ctrl_queue(n))
		ctrl_process(n);
	else if (q % 2)
		net_pair_kick_tx(&n->pairs[q / 2]);
	else
		net_pair_kick_rx(&n->pairs[q / 2]);
}

/* ---- link, announce, counters ---- */

static bool driver_ok(struct virtio_dev *d)
{
	return __atomic_load_n(&d->status, __ATOMIC_ACQUIRE) & VIRTIO_STATUS_DRIVER_OK;
}

void virtio_net_set_link(struct virtio_dev *d, bool up)
{
	struct virtio_net *n = net_of(d);

	if (__atomic_exchange_n(&n->link_up, up, __ATOMIC_ACQ_REL) == up)
		return;
	pthread_mutex_lock(&n->cfg_lock);
	if (up)
		n->status |= VIRTIO_NET_S_LINK_UP;
	else
		n->status &= (uint16_t)~VIRTIO_NET_S_LINK_UP;
	pthread_mutex_unlock(&n->cfg_lock);
	/* Down: stop reading the TAP; up: read again. */
	for (unsigned int i = 0; i < n->nr_pairs; i++) {
		pthread_mutex_lock(&n->pairs[i].lock);
		net_pair_update_events(&n->pairs[i]);
		pthread_mutex_unlock(&n->pairs[i].lock);
	}
	if (driver_ok(d))
		virtio_notify_config(d);
	log_info("%s: link %s", n->name, up ? "up" : "down");
}

bool virtio_net_link_up(struct virtio_dev *d)
{
	return __atomic_load_n(&net_of(d)->link_up, __ATOMIC_ACQUIRE);
}

int virtio_net_announce(struct virtio_dev *d)
{
	struct virtio_net *n = net_of(d);

	if (!driver_ok(d) || !virtio_has_feature(d, VIRTIO_NET_F_GUEST_ANNOUNCE))
		return -ENOTSUP;
	pthread_mutex_lock(&n->cfg_lock);
	n->status |= VIRTIO_NET_S_ANNOUNCE;
	pthread_mutex_unlock(&n->cfg_lock);
	virtio_notify_config(d);
	return 0;
}

static void add_counters(struct virtio_net_counters *sum, const struct virtio_net_counters *c)
{
	uint64_t *s = (uint64_t *)sum;
	const uint64_t *a = (const uint64_t *)c;

	for (size_t i = 0; i < sizeof(*c) / sizeof(uint64_t); i++)
		s[i] += a[i];
}

int virtio_net_get_pair_counters(struct virtio_dev *d, unsigned int pair,
				 struct virtio_net_counters *out)
{
	struct virtio_net *n = net_of(d);

	if (pair >= n->nr_pairs)
		return -EINVAL;
	pthread_mutex_lock(&n->pairs[pair].lock);
	*out = n->pairs[pair].c;
	pthread_mutex_unlock(&n->pairs[pair].lock);
	return 0;
}

void virtio_net_get_counters(struct virtio_dev *d, struct virtio_net_counters *out)
{
	memset(out, 0, sizeof(*out));
	for (unsigned int i = 0; i < net_of(d)->nr_pairs; i++) {
		struct virtio_net_counters c;

		virtio_net_get_pair_counters(d, i, &c);
		add_counters(out, &c);
	}
}

unsigned int virtio_net_pairs(struct virtio_dev *d)
{
	return net_of(d)->nr_pairs;
}

static void log_counters(struct virtio_net *n)
{
	struct virtio_net_counters c;

	if (!log_enabled(LOG_INFO))
		return;
	virtio_net_get_counters(&n->dev, &c);
	log_info("%s: rx %llu packets %llu bytes %llu dropped, tx %llu packets %llu bytes %llu dropped, runt %llu oversize %llu bad_header %llu link_down %llu backend_errors %llu bad_buffers %llu filtered %llu, longer than 1514 bytes: rx %llu tx %llu",
		 n->name, (unsigned long long)c.rx_packets, (unsigned long long)c.rx_bytes,
		 (unsigned long long)c.rx_dropped, (unsigned long long)c.tx_packets,
		 (unsigned long long)c.tx_bytes, (unsigned long long)c.tx_dropped,
		 (unsigned long long)c.runt, (unsigned long long)c.oversize,
		 (unsigned long long)c.bad_header, (unsigned long long)c.link_down,
		 (unsigned long long)c.backend_errors, (unsigned long long)c.bad_buffers,
		 (unsigned long long)c.filtered, (unsigned long long)c.rx_large,
		 (unsigned long long)c.tx_large);
	for (unsigned int i = 0; i < n->nr_pairs; i++) {
		virtio_net_get_pair_counters(&n->dev, i, &c);
		log_info("%s: pair %u: rx %llu packets, tx %llu packets; kicks rx %llu tx %llu, interrupts rx %llu tx %llu, rx starved %llu",
			 n->name, i, (unsigned long long)c.rx_packets,
			 (unsigned long long)c.tx_packets, (unsigned long long)c.rx_kicks,
			 (unsigned long long)c.tx_kicks, (unsigned long long)c.rx_interrupts,
			 (unsigned long long)c.tx_interrupts, (unsigned long long)c.rx_starved);
	}
}

/* ---- creation ---- */

static void net_free(struct virtio_net *n)
{
	for (unsigned int i = 0; n->pairs && i < n->nr_pairs; i++) {
		if (n->pairs[i].wake_fd >= 0)
			close(n->pairs[i].wake_fd);
		pthread_mutex_destroy(&n->pairs[i].lock);
	}
	free(n->pairs);
	pthread_mutex_destroy(&n->cfg_lock);
	pthread_mutex_destroy(&n->filter_lock);
	free(n);
}

static void net_destroy(struct virtio_dev *d)
{
	struct virtio_net *n = net_of(d);

	log_counters(n);
	/* Stops the I/O threads, and with them every handler of ours. */
	virtio_dev_cleanup(d);
	net_free(n);
}

static const struct virtio_dev_ops net_ops = {
	.config_read = net_config_read,
	.activate = net_activate,
	.reset = net_reset,
	.queue_notify = net_queue_notify,
	.destroy = net_destroy,
};

static uint64_t offered_features(const struct net_backend *b)
{
	uint64_t f = VIRTIO_NET_F_MAC | VIRTIO_NET_F_STATUS | VIRTIO_NET_F_MTU |
		     VIRTIO_NET_F_MRG_RXBUF | VIRTIO_NET_F_CTRL_VQ | VIRTIO_NET_F_CTRL_RX |
		     VIRTIO_NET_F_CTRL_RX_EXTRA | VIRTIO_NET_F_CTRL_MAC_ADDR |
		     VIRTIO_NET_F_GUEST_ANNOUNCE | VIRTIO_NET_F_CTRL_GUEST_OFFLOADS;

	if (b->nr_queues > 1)
		f |= VIRTIO_NET_F_MQ;
	if (!(b->caps & NET_OFFLOAD_CSUM))
		return f;
	f |= VIRTIO_NET_F_CSUM | VIRTIO_NET_F_GUEST_CSUM;
	if (b->caps & NET_OFFLOAD_TSO4)
		f |= VIRTIO_NET_F_HOST_TSO4 | VIRTIO_NET_F_GUEST_TSO4;
	if (b->caps & NET_OFFLOAD_TSO6)
		f |= VIRTIO_NET_F_HOST_TSO6 | VIRTIO_NET_F_GUEST_TSO6;
	if (b->caps & NET_OFFLOAD_ECN)
		f |= VIRTIO_NET_F_HOST_ECN | VIRTIO_NET_F_GUEST_ECN;
	if (b->caps & NET_OFFLOAD_UFO)
		f |= VIRTIO_NET_F_HOST_UFO | VIRTIO_NET_F_GUEST_UFO;
	if ((b->caps & NET_OFFLOAD_USO4) && (b->caps & NET_OFFLOAD_USO6))
		f |= VIRTIO_NET_F_HOST_USO | VIRTIO_NET_F_GUEST_USO4 | VIRTIO_NET_F_GUEST_USO6;
	return f;
}

static int init_pairs(struct virtio_net *n)
{
	n->pairs = calloc(n->nr_pairs, sizeof(*n->pairs));
	if (!n->pairs)
		return -ENOMEM;
	for (unsigned int i = 0; i < n->nr_pairs; i++) {
		struct net_pair *p = &n->pairs[i];

		p->net = n;
		p->index = i;
		p->fd = net_backend_fd(n->backend, i);
		p->loop = virtio_queue_loop(&n->dev, 2 * i);
		p->wake_fd = -1;
		pthread_mutex_init(&p->lock, NULL);
	}
	for (unsigned int i = 0; i < n->nr_pairs; i++) {
		n->pairs[i].wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (n->pairs[i].wake_fd < 0)
			return -errno;
	}
	return 0;
}

static unsigned int io_threads(unsigned int pairs)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);

	/* One per pair, but no more than the host has CPUs to run them. */
	if (cpus > 0 && (unsigned long)cpus < pairs)
		pairs = (unsigned int)cpus;
	if (pairs > VIRTIO_MAX_IO_THREADS)
		pairs = VIRTIO_MAX_IO_THREADS;
	return pairs ? pairs : 1;
}

int virtio_net_create(struct vm *vm, const struct net_config *nc, struct net_backend *backend,
		      unsigned int index, struct virtio_dev **out)
{
	struct virtio_net *n = calloc(1, sizeof(*n));
	char mac[18];
	int ret;

	if (!n)
		return -ENOMEM;
	pthread_mutex_init(&n->cfg_lock, NULL);
	pthread_mutex_init(&n->filter_lock, NULL);
	snprintf(n->name, sizeof(n->name), "virtio-net%u", index);
	n->backend = backend;
	n->nr_pairs = backend->nr_queues;
	ret = virtio_dev_init(&n->dev, vm, n->name, VIRTIO_ID_NET, 2 * n->nr_pairs + 1,
			      NET_CTRL_RING, io_threads(n->nr_pairs));
	if (ret) {
		net_free(n);
		return ret;
	}
	/* The largest ring the driver may choose; it may pick a smaller one. */
	for (unsigned int i = 0; i < n->nr_pairs; i++) {
		virtq_init(&n->dev.vqs[2 * i], nc->rx_ring ? nc->rx_ring : NET_RX_RING_DEFAULT);
		virtq_init(&n->dev.vqs[2 * i + 1], nc->tx_ring ? nc->tx_ring : NET_TX_RING_DEFAULT);
	}
	n->dev.queues_per_loop = 2;
	n->dev.ops = &net_ops;
	n->dev.priv = n;
	n->dev.features |= offered_features(backend);
	n->dev.config_len = CONFIG_LEN;
	ret = init_pairs(n);
	if (ret) {
		virtio_dev_cleanup(&n->dev);
		net_free(n);
		return ret;
	}
	if (nc->mac_set) {
		memcpy(n->default_mac, nc->mac, ETH_ALEN);
	} else if (vm->cfg->name[0]) {
		net_default_mac(vm->cfg->name, index, n->default_mac);
	} else {
		/* No name to be stable with: at least differ from other VMs. */
		char name[32];

		snprintf(name, sizeof(name), "pid-%ld", (long)getpid());
		net_default_mac(name, index, n->default_mac);
	}
	set_mac(n, n->default_mac);
	reset_filter(n);
	n->active_pairs = 1;
	n->link_up = true;
	n->status = VIRTIO_NET_S_LINK_UP;
	net_format_mac(n->default_mac, mac);
	log_info("%s: TAP %s, MAC %s, %u queue pair%s on %u thread%s, MTU %u, offloads 0x%x",
		 n->name, backend->ifname, mac, n->nr_pairs, n->nr_pairs > 1 ? "s" : "",
		 n->dev.nr_loops, n->dev.nr_loops > 1 ? "s" : "", backend->mtu, backend->caps);
	*out = &n->dev;
	return 0;
}
