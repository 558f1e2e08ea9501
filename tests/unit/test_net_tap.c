/* virtio-net's data path end to end on a real TAP, without KVM: the test
 * plays the guest driver over fake guest memory (rings and buffers it
 * writes itself) and the host side with a packet socket on the TAP, in a
 * network namespace of its own (no traffic leaves it).  Needs
 * CAP_NET_ADMIN; skipped without it. */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "net/backend.h"
#include "virtio/devices.h"
#include "virtio/net.h"
#include "virtio/net_proto.h"
#include "virtio/transport.h"
#include "virtio/virtio.h"
#include "vmm/config.h"
#include "vmm/vm.h"

#define RAM (16 << 20)
#define QSIZE 256
#define ETHERTYPE_TEST 0x88b5 /* IEEE local experimental */
#define TAP "sdtap0"

/* ---- a fake transport: counts interrupts ---- */

struct fake_transport {
	struct virtio_transport t;
	int queue_irqs[8];
	int config_irqs;
};

static void fake_notify_queue(struct virtio_dev *d, unsigned int q)
{
	struct fake_transport *ft = (struct fake_transport *)d->transport;

	__atomic_add_fetch(&ft->queue_irqs[q % 8], 1, __ATOMIC_RELAXED);
}

static void fake_notify_config(struct virtio_dev *d)
{
	struct fake_transport *ft = (struct fake_transport *)d->transport;

	__atomic_add_fetch(&ft->config_irqs, 1, __ATOMIC_RELAXED);
}

static void fake_destroy(struct virtio_dev *d)
{
}

static const struct virtio_transport_ops fake_ops = {
	.notify_queue = fake_notify_queue,
	.notify_config = fake_notify_config,
	.destroy = fake_destroy,
};

/* ---- a minimal driver over fake guest memory ---- */

struct tq {
	struct vring_desc *desc;
	struct vring_avail *avail;
	struct vring_used *used;
	uint16_t next_desc, avail_idx, used_seen;
};

struct env {
	struct vm vm;
	struct vm_config cfg;
	struct fake_transport ft;
	struct net_backend *b;
	struct virtio_dev *d;
	struct tq q[5];
	int ps;      /* packet socket on the TAP: the host side */
	int ifindex;
	uint64_t next_buf; /* bump allocator for buffers in guest memory */
};

static void *gpa(struct env *e, uint64_t addr, uint64_t len)
{
	void *p = gm_ptr(&e->vm.mem, addr, len);

	assert_non_null(p);
	return p;
}

static uint64_t alloc_buf(struct env *e, uint32_t len)
{
	uint64_t a = e->next_buf;

	e->next_buf += (len + 4095) & ~4095u;
	assert_true(e->next_buf < RAM);
	return a;
}

static void tq_setup(struct env *e, unsigned int q, bool event_idx)
{
	struct virtqueue *vq = &e->d->vqs[q];
	uint64_t base = 0x10000 + (uint64_t)q * 0x4000;
	struct tq *t = &e->q[q];

	vq->cfg = (struct virtq_config){ .size = QSIZE, .enabled = true, .desc = base,
					 .avail = base + 0x1000, .used = base + 0x2000,
					 .msix_vector = 0xffff };
	t->desc = gpa(e, base, 16 * QSIZE);
	t->avail = gpa(e, base + 0x1000, 6 + 2 * QSIZE);
	t->used = gpa(e, base + 0x2000, 6 + 8 * QSIZE);
	assert_int_equal(virtq_activate(vq, &e->vm.mem, event_idx), 0);
}

/* One chain of n buffers; `writable` for receive buffers. */
static void tq_post(struct tq *t, const uint64_t *addr, const uint32_t *len, int n, bool writable)
{
	uint16_t head = t->next_desc;

	for (int i = 0; i < n; i++) {
		uint16_t idx = (uint16_t)((head + i) % QSIZE);

		t->desc[idx] = (struct vring_desc){
			.addr = addr[i], .len = len[i],
			.flags = (uint16_t)((writable ? VRING_DESC_F_WRITE : 0) |
					    (i < n - 1 ? VRING_DESC_F_NEXT : 0)),
			.next = (uint16_t)((idx + 1) % QSIZE),
		};
	}
	t->next_desc = (uint16_t)((head + n) % QSIZE);
	t->avail->ring[t->avail_idx % QSIZE] = head;
	__atomic_store_n(&t->avail->idx, ++t->avail_idx, __ATOMIC_RELEASE);
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* The next used entry, waiting up to ms milliseconds. */
static bool tq_get(struct tq *t, struct vring_used_elem *out, int ms)
{
	uint64_t end = now_ms() + (uint64_t)ms;

	do {
		if (__atomic_load_n(&t->used->idx, __ATOMIC_ACQUIRE) != t->used_seen) {
			*out = t->used->ring[t->used_seen % QSIZE];
			t->used_seen++;
			/* used_event: interrupt me for the next one. */
			__atomic_store_n(&t->avail->ring[QSIZE], t->used_seen, __ATOMIC_RELEASE);
			return true;
		}
		usleep(1000);
	} while (now_ms() < end);
	return false;
}

/* ---- the host side ---- */

static int ifreq_ioctl(unsigned long req, struct ifreq *ifr)
{
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), ret;

	assert_true(s >= 0);
	snprintf(ifr->ifr_name, sizeof(ifr->ifr_name), "%s", TAP);
	ret = ioctl(s, req, ifr);
	close(s);
	return ret;
}

static void host_mtu(int mtu)
{
	struct ifreq ifr = { .ifr_mtu = mtu };

	assert_int_equal(ifreq_ioctl(SIOCSIFMTU, &ifr), 0);
}

static void host_up(struct env *e)
{
	struct ifreq ifr = { 0 };
	struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL) };

	assert_int_equal(ifreq_ioctl(SIOCGIFFLAGS, &ifr), 0);
	ifr.ifr_flags |= IFF_UP;
	assert_int_equal(ifreq_ioctl(SIOCSIFFLAGS, &ifr), 0);
	e->ifindex = (int)if_nametoindex(TAP);
	e->ps = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL));
	assert_true(e->ps >= 0);
	sll.sll_ifindex = e->ifindex;
	assert_int_equal(bind(e->ps, (struct sockaddr *)&sll, sizeof(sll)), 0);
}

static void make_frame(uint8_t *f, size_t len, const uint8_t dst[6], uint8_t seed)
{
	static const uint8_t src[6] = { 0x02, 0x11, 0x22, 0x33, 0x44, 0x55 };

	memcpy(f, dst, 6);
	memcpy(f + 6, src, 6);
	f[12] = ETHERTYPE_TEST >> 8;
	f[13] = ETHERTYPE_TEST & 0xff;
	for (size_t i = 14; i < len; i++)
		f[i] = (uint8_t)(seed + i * 7);
}

/* The host sends a frame into the TAP, towards the guest. */
static void host_send(struct env *e, const uint8_t *f, size_t len)
{
	assert_int_equal(send(e->ps, f, len, 0), (ssize_t)len);
}

/* The next test frame the guest sent, or -1 after ms milliseconds. */
static ssize_t host_recv(struct env *e, uint8_t *buf, size_t len, int ms)
{
	uint64_t end = now_ms() + (uint64_t)ms;

	for (;;) {
		struct pollfd pfd = { .fd = e->ps, .events = POLLIN };
		struct sockaddr_ll from;
		socklen_t fl = sizeof(from);
		int left = (int)(end - now_ms());
		ssize_t n;

		if (left <= 0 || poll(&pfd, 1, left) <= 0)
			return -1;
		n = recvfrom(e->ps, buf, len, MSG_DONTWAIT, (struct sockaddr *)&from, &fl);
		/* Our own sends show up as outgoing; the kernel's chatter has
		 * other types. */
		if (n >= 14 && from.sll_pkttype != PACKET_OUTGOING &&
		    buf[12] == (ETHERTYPE_TEST >> 8) && buf[13] == (ETHERTYPE_TEST & 0xff))
			return n;
	}
}

/* ---- setup ---- */

static void write_sysctl(const char *path, const char *value)
{
	FILE *f = fopen(path, "w");

	if (f) {
		fputs(value, f);
		fclose(f);
	}
}

static const uint64_t base_features =
	VIRTIO_F_VERSION_1 | VIRTIO_F_EVENT_IDX | VIRTIO_NET_F_MAC | VIRTIO_NET_F_STATUS |
	VIRTIO_NET_F_CSUM | VIRTIO_NET_F_CTRL_VQ | VIRTIO_NET_F_CTRL_RX |
	VIRTIO_NET_F_CTRL_MAC_ADDR;

static struct env *env_new(unsigned int queues, uint64_t features, unsigned int mtu)
{
	struct env *e = calloc(1, sizeof(*e));
	struct guest_mem_layout l = { .ram_size = RAM, .hole_start = RAM, .hole_end = RAM };
	struct net_config nc = { .tap = (char *)TAP, .fd = -1 };
	unsigned int pairs;

	assert_non_null(e);
	/* IPv6 would send router solicitations into the TAP. */
	write_sysctl("/proc/sys/net/ipv6/conf/default/disable_ipv6", "1");
	write_sysctl("/proc/sys/net/ipv6/conf/all/disable_ipv6", "1");
	config_init_defaults(&e->cfg);
	strcpy(e->cfg.name, "net-unit-test");
	e->vm.cfg = &e->cfg;
	assert_int_equal(guest_mem_init(&e->vm.mem, &l), 0);
	e->next_buf = 1 << 20;
	assert_int_equal(tap_open(TAP, queues, VIRTIO_NET_HDR_LEN, &e->b), 0);
	e->b->mtu = mtu; /* what the device believes; tests change the TAP's */
	host_up(e);
	assert_int_equal(virtio_net_create(&e->vm, &nc, e->b, 0, &e->d), 0);
	e->ft.t.ops = &fake_ops;
	e->d->transport = &e->ft.t;
	/* The driver's side of negotiation and DRIVER_OK. */
	assert_true((features & ~e->d->features) == 0);
	e->d->acked = features;
	pairs = virtio_net_pairs(e->d);
	for (unsigned int q = 0; q < 2 * pairs + 1; q++)
		tq_setup(e, q, features & VIRTIO_F_EVENT_IDX);
	e->d->status = VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
		       VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK;
	assert_int_equal(e->d->ops->activate(e->d), 0);
	return e;
}

static void env_free(struct env *e)
{
	e->d->ops->reset(e->d);
	e->d->ops->destroy(e->d);
	net_backend_close(e->b);
	close(e->ps);
	guest_mem_destroy(&e->vm.mem);
	free(e);
}

static int new_netns(void **state)
{
	(void)state;
	if (unshare(CLONE_NEWNET) < 0)
		return 0; /* the tests skip themselves */
	return 0;
}

static bool can_run(void)
{
	int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return false;
	close(fd);
	return access("/dev/net/tun", R_OK | W_OK) == 0;
}

#define REQUIRE_NET()                                                                        \
	do {                                                                                 \
		if (!can_run()) {                                                            \
			print_message("no CAP_NET_ADMIN or /dev/net/tun: skipped\n");        \
			skip();                                                              \
		}                                                                            \
	} while (0)

/* ---- driver helpers ---- */

/* Sends one frame from the guest: header and frame in separate buffers. */
static void guest_send(struct env *e, const struct virtio_net_hdr *h, const uint8_t *f,
		       uint32_t len, unsigned int txq)
{
	uint64_t a[2] = { alloc_buf(e, VIRTIO_NET_HDR_LEN), alloc_buf(e, len) };
	uint32_t l[2] = { VIRTIO_NET_HDR_LEN, len };

	memcpy(gpa(e, a[0], l[0]), h, VIRTIO_NET_HDR_LEN);
	memcpy(gpa(e, a[1], len), f, len);
	tq_post(&e->q[txq], a, l, 2, false);
}

/* Posts n receive buffers of len bytes each; returns the first address
 * (buffer i is at first + i * stride). */
static uint64_t guest_post_rx(struct env *e, unsigned int q, int n, uint32_t len)
{
	uint64_t first = 0;

	for (int i = 0; i < n; i++) {
		uint64_t a = alloc_buf(e, len);

		if (i == 0)
			first = a;
		tq_post(&e->q[q], &a, &len, 1, true);
	}
	return first;
}

static uint64_t desc_addr(struct env *e, unsigned int q, uint32_t head)
{
	return e->q[q].desc[head].addr;
}

static uint8_t ctrl(struct env *e, const uint8_t *cmd, uint32_t len)
{
	unsigned int q = 2 * virtio_net_pairs(e->d);
	uint64_t a[2] = { alloc_buf(e, len), alloc_buf(e, 1) };
	uint32_t l[2] = { len, 1 };
	struct vring_used_elem u;
	uint8_t *ack = gpa(e, a[1], 1);

	memcpy(gpa(e, a[0], len), cmd, len);
	*ack = 0xee;
	/* Readable then writable: post by hand. */
	{
		struct tq *t = &e->q[q];
		uint16_t head = t->next_desc, second = (uint16_t)((head + 1) % QSIZE);

		t->desc[head] = (struct vring_desc){ .addr = a[0], .len = l[0],
						     .flags = VRING_DESC_F_NEXT, .next = second };
		t->desc[second] = (struct vring_desc){ .addr = a[1], .len = l[1],
						       .flags = VRING_DESC_F_WRITE };
		t->next_desc = (uint16_t)((head + 2) % QSIZE);
		t->avail->ring[t->avail_idx % QSIZE] = head;
		__atomic_store_n(&t->avail->idx, ++t->avail_idx, __ATOMIC_RELEASE);
	}
	e->d->ops->queue_notify(e->d, q);
	assert_true(tq_get(&e->q[q], &u, 1000));
	assert_int_equal(u.len, 1);
	return *ack;
}

static struct virtio_net_counters counters(struct env *e)
{
	struct virtio_net_counters c;

	virtio_net_get_counters(e->d, &c);
	return c;
}

static void own_mac(struct env *e, uint8_t mac[6])
{
	e->d->ops->config_read(e->d, 0, mac, 6);
}

/* ---- tests ---- */

static void tx_frames_reach_the_tap(void **state)
{
	static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	struct virtio_net_hdr plain = { 0 }, bad = { .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
						      .gso_type = VIRTIO_NET_HDR_GSO_TCPV4,
						      .gso_size = 1000, .csum_start = 34,
						      .csum_offset = 16 };
	uint8_t f[3][1000], got[2000];
	struct vring_used_elem u;
	struct virtio_net_counters c;
	struct env *e;

	(void)state;
	REQUIRE_NET();
	e = env_new(1, base_features, 1500);
	for (int i = 0; i < 3; i++)
		make_frame(f[i], sizeof(f[i]), bcast, (uint8_t)i);
	guest_send(e, &plain, f[0], 1000, 1);
	/* TSO was not negotiated: this one is dropped, the others pass. */
	guest_send(e, &bad, f[1], 1000, 1);
	guest_send(e, &plain, f[2], 1000, 1);
	e->d->ops->queue_notify(e->d, 1);
	assert_int_equal(host_recv(e, got, sizeof(got), 2000), 1000);
	assert_memory_equal(got, f[0], 1000);
	assert_int_equal(host_recv(e, got, sizeof(got), 2000), 1000);
	assert_memory_equal(got, f[2], 1000);
	assert_int_equal(host_recv(e, got, sizeof(got), 200), -1);
	for (int i = 0; i < 3; i++)
		assert_true(tq_get(&e->q[1], &u, 1000));
	c = counters(e);
	assert_int_equal(c.tx_packets, 2);
	assert_int_equal(c.tx_bytes, 2000);
	assert_int_equal(c.tx_dropped, 1);
	assert_int_equal(c.bad_header, 1);
	assert_true(e->ft.queue_irqs[1] >= 1);
	assert_false(e->d->broken);
	env_free(e);
}

/* A large segment from the guest crosses to the TAP unsegmented. */
static void tx_large_segment_unsegmented(void **state)
{
	uint8_t f[20000], got[30000];
	struct virtio_net_hdr h = { .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
				    .gso_type = VIRTIO_NET_HDR_GSO_TCPV4, .hdr_len = 54,
				    .gso_size = 1448, .csum_start = 34, .csum_offset = 16 };
	uint8_t mac[6];
	struct env *e;
	uint16_t iplen = sizeof(f) - 14;

	(void)state;
	REQUIRE_NET();
	e = env_new(1, base_features | VIRTIO_NET_F_HOST_TSO4, 1500);
	own_mac(e, mac);
	memset(f, 0, sizeof(f));
	memset(f, 0xff, 6);
	memcpy(f + 6, mac, 6);
	f[12] = 0x08; /* IPv4 */
	f[14] = 0x45;
	f[16] = (uint8_t)(iplen >> 8);
	f[17] = (uint8_t)iplen;
	f[22] = 64;
	f[23] = 6; /* TCP */
	memcpy(f + 26, (uint8_t[]){ 10, 0, 0, 2, 10, 0, 0, 1 }, 8);
	f[46] = 0x50; /* data offset 5 words */
	guest_send(e, &h, f, sizeof(f), 1);
	e->d->ops->queue_notify(e->d, 1);
	/* A packet socket sees what the TAP received before any
	 * segmentation: one frame of the full size. */
	for (uint64_t end = now_ms() + 2000;;) {
		struct pollfd pfd = { .fd = e->ps, .events = POLLIN };
		ssize_t n;

		assert_true(now_ms() < end);
		if (poll(&pfd, 1, 100) <= 0)
			continue;
		n = recv(e->ps, got, sizeof(got), MSG_DONTWAIT);
		if (n > 14 && got[12] == 0x08 && got[23] == 6) {
			assert_int_equal(n, sizeof(f));
			break;
		}
	}
	assert_int_equal(counters(e).tx_packets, 1);
	assert_int_equal(counters(e).tx_large, 1);
	env_free(e);
}

/* Mergeable buffers: a frame spans several; with too few buffers posted
 * nothing is read (and nothing lost) until the driver posts more. */
static void rx_mergeable_with_back_pressure(void **state)
{
	static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	enum { FRAMES = 20, LEN = 3000 };
	uint8_t f[LEN];
	struct vring_used_elem u;
	struct virtio_net_counters c;
	struct env *e;
	int seen = 0;

	(void)state;
	REQUIRE_NET();
	e = env_new(1, base_features | VIRTIO_NET_F_MRG_RXBUF, 9000);
	host_mtu(9000);
	for (int i = 0; i < FRAMES; i++) {
		make_frame(f, LEN, bcast, (uint8_t)i);
		host_send(e, f, LEN);
	}
	usleep(200 * 1000);
	assert_false(tq_get(&e->q[0], &u, 10)); /* no buffers: nothing */
	/* 60 buffers of 1 KiB: each frame takes 3, but a read needs room
	 * for a 9018-byte frame, so two frames wait for more buffers. */
	guest_post_rx(e, 0, 60, 1024);
	e->d->ops->queue_notify(e->d, 0);
	while (seen < FRAMES - 2) {
		struct virtio_net_hdr h;
		uint8_t frame[LEN + 64];
		uint32_t got = 0;

		assert_true(tq_get(&e->q[0], &u, 2000));
		memcpy(&h, gpa(e, desc_addr(e, 0, u.id), 12), 12);
		assert_int_equal(h.num_buffers, 3);
		memcpy(frame, gpa(e, desc_addr(e, 0, u.id), u.len), u.len);
		got = u.len;
		for (int k = 1; k < 3; k++) {
			assert_true(tq_get(&e->q[0], &u, 2000));
			memcpy(frame + got, gpa(e, desc_addr(e, 0, u.id), u.len), u.len);
			got += u.len;
		}
		assert_int_equal(got, 12 + LEN);
		make_frame(f, LEN, bcast, (uint8_t)seen);
		assert_memory_equal(frame + 12, f, LEN);
		seen++;
	}
	assert_false(tq_get(&e->q[0], &u, 200));
	guest_post_rx(e, 0, 30, 1024);
	e->d->ops->queue_notify(e->d, 0);
	for (int k = 0; k < 6; k++)
		assert_true(tq_get(&e->q[0], &u, 2000));
	c = counters(e);
	assert_int_equal(c.rx_packets, FRAMES);
	assert_int_equal(c.rx_bytes, FRAMES * LEN);
	assert_int_equal(c.rx_dropped, 0);
	assert_true(e->ft.queue_irqs[0] >= 2);
	env_free(e);
}

/* Frames longer than the MTU the device was given (the host side changed
 * its MTU behind our back) are dropped and counted; traffic goes on. */
static void rx_oversize_dropped_and_counted(void **state)
{
	static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	uint8_t big[4000], ok[100];
	struct vring_used_elem u;
	struct virtio_net_counters c;
	struct env *e;

	(void)state;
	REQUIRE_NET();
	for (int merge = 0; merge < 2; merge++) {
		e = env_new(1, base_features | (merge ? VIRTIO_NET_F_MRG_RXBUF : 0), 1500);
		host_mtu(9000);
		guest_post_rx(e, 0, 8, merge ? 4096 : 12 + 1518);
		make_frame(big, sizeof(big), bcast, 1);
		make_frame(ok, sizeof(ok), bcast, 2);
		host_send(e, big, sizeof(big));
		host_send(e, ok, sizeof(ok));
		assert_true(tq_get(&e->q[0], &u, 2000));
		assert_int_equal(u.len, 12 + sizeof(ok));
		assert_memory_equal((uint8_t *)gpa(e, desc_addr(e, 0, u.id), u.len) + 12, ok,
				    sizeof(ok));
		c = counters(e);
		assert_int_equal(c.oversize, 1);
		assert_int_equal(c.rx_dropped, 1);
		assert_int_equal(c.rx_packets, 1);
		assert_true(e->d->stats.errors >= 1);
		env_free(e);
	}
}

static void ctrl_filter_and_link(void **state)
{
	static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	uint8_t promisc_off[] = { VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_PROMISC, 0 };
	uint8_t set_mac[] = { VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_ADDR_SET,
			      0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0xee };
	uint8_t vlan[] = { 2, 0, 1, 0 }, mq[] = { VIRTIO_NET_CTRL_MQ, 0, 2, 0 };
	uint8_t other[6] = { 0x02, 1, 2, 3, 4, 5 }, mac[6], f[100], st[2];
	struct virtio_net_hdr plain = { 0 };
	struct vring_used_elem u;
	struct virtio_net_counters c;
	struct env *e;

	(void)state;
	REQUIRE_NET();
	e = env_new(1, base_features, 1500);
	assert_int_equal(ctrl(e, promisc_off, sizeof(promisc_off)), VIRTIO_NET_OK);
	assert_int_equal(ctrl(e, set_mac, sizeof(set_mac)), VIRTIO_NET_OK);
	assert_int_equal(ctrl(e, vlan, sizeof(vlan)), VIRTIO_NET_ERR);
	assert_int_equal(ctrl(e, mq, sizeof(mq)), VIRTIO_NET_ERR); /* MQ not negotiated */
	own_mac(e, mac);
	assert_memory_equal(mac, set_mac + 2, 6);
	guest_post_rx(e, 0, 16, 2048);
	make_frame(f, sizeof(f), other, 1);
	host_send(e, f, sizeof(f)); /* not ours: filtered */
	make_frame(f, sizeof(f), mac, 2);
	host_send(e, f, sizeof(f));
	assert_true(tq_get(&e->q[0], &u, 2000));
	assert_int_equal(((uint8_t *)gpa(e, desc_addr(e, 0, u.id), 20))[12 + 14], f[14]);
	c = counters(e);
	assert_int_equal(c.filtered, 1);
	assert_int_equal(c.rx_dropped, 0);

	/* Link down: the guest is told, its frames go nowhere, the TAP is
	 * not read; up again: the waiting frame arrives. */
	virtio_net_set_link(e->d, false);
	assert_int_equal(e->ft.config_irqs, 1);
	e->d->ops->config_read(e->d, 6, st, 2);
	assert_int_equal(st[0] & VIRTIO_NET_S_LINK_UP, 0);
	make_frame(f, sizeof(f), bcast, 3);
	guest_send(e, &plain, f, sizeof(f), 1);
	e->d->ops->queue_notify(e->d, 1);
	assert_true(tq_get(&e->q[1], &u, 1000));
	host_send(e, f, sizeof(f));
	assert_false(tq_get(&e->q[0], &u, 300));
	c = counters(e);
	assert_int_equal(c.link_down, 1);
	assert_int_equal(c.tx_packets, 0);
	virtio_net_set_link(e->d, true);
	assert_int_equal(e->ft.config_irqs, 2);
	e->d->ops->config_read(e->d, 6, st, 2);
	assert_int_equal(st[0] & VIRTIO_NET_S_LINK_UP, VIRTIO_NET_S_LINK_UP);
	assert_true(tq_get(&e->q[0], &u, 2000));
	assert_int_equal(counters(e).rx_packets, 2);
	env_free(e);
}

static void multiqueue_pairs(void **state)
{
	static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	uint8_t two[] = { VIRTIO_NET_CTRL_MQ, 0, 2, 0 }, three[] = { VIRTIO_NET_CTRL_MQ, 0, 3, 0 };
	uint8_t f[200], got[400];
	struct virtio_net_hdr plain = { 0 };
	struct vring_used_elem u;
	struct virtio_net_counters c0, c1;
	struct env *e;

	(void)state;
	REQUIRE_NET();
	e = env_new(2, base_features | VIRTIO_NET_F_MQ, 1500);
	/* The rings each pair offers (the driver above chose 256 for all). */
	for (unsigned int q = 0; q < 4; q++)
		assert_int_equal(e->d->vqs[q].max_size,
				 q % 2 ? NET_TX_RING_DEFAULT : NET_RX_RING_DEFAULT);
	assert_int_equal(ctrl(e, three, sizeof(three)), VIRTIO_NET_ERR);
	assert_int_equal(ctrl(e, two, sizeof(two)), VIRTIO_NET_OK);
	make_frame(f, sizeof(f), bcast, 9);
	guest_send(e, &plain, f, sizeof(f), 3); /* pair 1's transmit queue */
	e->d->ops->queue_notify(e->d, 3);
	assert_int_equal(host_recv(e, got, sizeof(got), 2000), sizeof(f));
	assert_memory_equal(got, f, sizeof(f));
	assert_true(tq_get(&e->q[3], &u, 1000));
	/* Received frames land on one of the two receive queues. */
	guest_post_rx(e, 0, 8, 2048);
	guest_post_rx(e, 2, 8, 2048);
	for (int i = 0; i < 4; i++) {
		make_frame(f, sizeof(f), bcast, (uint8_t)i);
		host_send(e, f, sizeof(f));
	}
	for (uint64_t end = now_ms() + 3000; now_ms() < end;) {
		virtio_net_get_pair_counters(e->d, 0, &c0);
		virtio_net_get_pair_counters(e->d, 1, &c1);
		if (c0.rx_packets + c1.rx_packets == 4)
			break;
		usleep(1000);
	}
	assert_int_equal(c0.rx_packets + c1.rx_packets, 4);
	assert_int_equal(c1.tx_packets, 1);
	env_free(e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(tx_frames_reach_the_tap, new_netns),
		cmocka_unit_test_setup(tx_large_segment_unsegmented, new_netns),
		cmocka_unit_test_setup(rx_mergeable_with_back_pressure, new_netns),
		cmocka_unit_test_setup(rx_oversize_dropped_and_counted, new_netns),
		cmocka_unit_test_setup(ctrl_filter_and_link, new_netns),
		cmocka_unit_test_setup(multiqueue_pairs, new_netns),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
