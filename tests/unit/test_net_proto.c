/* virtio-net protocol: frame headers both ways, control commands (also as
 * a driver lays them out in guest memory), the receive filter, default
 * MACs. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "net/backend.h"
#include "virtio/net_proto.h"
#include "virtio/queue.h"
#include "vmm/guest_mem.h"

#define ALL_HOST                                                                             \
	(VIRTIO_NET_F_CSUM | VIRTIO_NET_F_HOST_TSO4 | VIRTIO_NET_F_HOST_TSO6 |              \
	 VIRTIO_NET_F_HOST_ECN | VIRTIO_NET_F_HOST_UFO | VIRTIO_NET_F_HOST_USO)
#define CTRL_ALL                                                                             \
	(VIRTIO_NET_F_CTRL_VQ | VIRTIO_NET_F_CTRL_RX | VIRTIO_NET_F_CTRL_RX_EXTRA |         \
	 VIRTIO_NET_F_CTRL_MAC_ADDR | VIRTIO_NET_F_GUEST_ANNOUNCE | VIRTIO_NET_F_MQ |        \
	 VIRTIO_NET_F_CTRL_GUEST_OFFLOADS | VIRTIO_NET_F_GUEST_CSUM | VIRTIO_NET_F_GUEST_TSO4)

static struct virtio_net_hdr tso4(uint16_t gso_size)
{
	return (struct virtio_net_hdr){ .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
					.gso_type = VIRTIO_NET_HDR_GSO_TCPV4,
					.hdr_len = 54, .gso_size = gso_size,
					.csum_start = 34, .csum_offset = 16 };
}

static void tx_plain_frames(void **state)
{
	struct virtio_net_hdr h = { .hdr_len = 99, .gso_size = 7, .num_buffers = 3 };

	(void)state;
	assert_int_equal(net_tx_check(&h, 60, 0), NET_PASS);
	/* Fields the kernel must not act on are cleared in our copy. */
	assert_int_equal(h.hdr_len, 0);
	assert_int_equal(h.gso_size, 0);
	assert_int_equal(h.num_buffers, 0);
	h = (struct virtio_net_hdr){ 0 };
	assert_int_equal(net_tx_check(&h, 13, 0), NET_DROP_RUNT);
	assert_int_equal(net_tx_check(&h, NET_MAX_FRAME, 0), NET_PASS);
	assert_int_equal(net_tx_check(&h, NET_MAX_FRAME + 1, 0), NET_DROP_OVERSIZE);
	h.flags = VIRTIO_NET_HDR_F_DATA_VALID; /* receive-only flag */
	assert_int_equal(net_tx_check(&h, 60, ALL_HOST), NET_DROP_BAD_HEADER);
}

static void tx_checksum_offload(void **state)
{
	struct virtio_net_hdr h = { .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM, .csum_start = 34,
				    .csum_offset = 6 };

	(void)state;
	assert_int_equal(net_tx_check(&h, 60, 0), NET_DROP_BAD_HEADER); /* no CSUM */
	assert_int_equal(net_tx_check(&h, 60, VIRTIO_NET_F_CSUM), NET_PASS);
	assert_int_equal(net_tx_check(&h, 41, VIRTIO_NET_F_CSUM), NET_DROP_BAD_HEADER);
	assert_int_equal(net_tx_check(&h, 42, VIRTIO_NET_F_CSUM), NET_PASS);
	h.csum_start = 0xffff;
	h.csum_offset = 0xffff; /* no wrap-around: 16-bit fields add in 64 bits */
	assert_int_equal(net_tx_check(&h, 60, VIRTIO_NET_F_CSUM), NET_DROP_BAD_HEADER);
}

static void tx_segmentation_offload(void **state)
{
	struct virtio_net_hdr h = tso4(1448);

	(void)state;
	assert_int_equal(net_tx_check(&h, 65000, ALL_HOST), NET_PASS);
	h = tso4(1448);
	assert_int_equal(net_tx_check(&h, 65000, VIRTIO_NET_F_CSUM), NET_DROP_BAD_HEADER);
	h = tso4(0);
	assert_int_equal(net_tx_check(&h, 65000, ALL_HOST), NET_DROP_BAD_HEADER);
	h = tso4(1448);
	h.flags = 0; /* segmentation needs a partial checksum */
	assert_int_equal(net_tx_check(&h, 65000, ALL_HOST), NET_DROP_BAD_HEADER);
	h = tso4(1448);
	h.hdr_len = 2000;
	assert_int_equal(net_tx_check(&h, 1000, ALL_HOST), NET_DROP_BAD_HEADER);
	h = tso4(1448);
	h.gso_type |= VIRTIO_NET_HDR_GSO_ECN;
	assert_int_equal(net_tx_check(&h, 65000, ALL_HOST & ~VIRTIO_NET_F_HOST_ECN),
			 NET_DROP_BAD_HEADER);
	h = tso4(1448);
	h.gso_type |= VIRTIO_NET_HDR_GSO_ECN;
	assert_int_equal(net_tx_check(&h, 65000, ALL_HOST), NET_PASS);
	h = tso4(1448);
	h.gso_type = VIRTIO_NET_HDR_GSO_UDP | VIRTIO_NET_HDR_GSO_ECN; /* ECN is TCP's */
	assert_int_equal(net_tx_check(&h, 65000, ALL_HOST), NET_DROP_BAD_HEADER);
	h = tso4(1448);
	h.gso_type = 2; /* undefined */
	assert_int_equal(net_tx_check(&h, 65000, ALL_HOST), NET_DROP_BAD_HEADER);
	h = tso4(1448);
	h.gso_type = VIRTIO_NET_HDR_GSO_UDP_L4;
	assert_int_equal(net_tx_check(&h, 65000, ALL_HOST & ~VIRTIO_NET_F_HOST_USO),
			 NET_DROP_BAD_HEADER);
}

static void rx_frames_from_backend(void **state)
{
	unsigned int all = NET_OFFLOAD_CSUM | NET_OFFLOAD_TSO4 | NET_OFFLOAD_TSO6;
	struct virtio_net_hdr h = { 0 };

	(void)state;
	assert_int_equal(net_rx_check(&h, 1514, 0, 0, 1500), NET_PASS);
	assert_int_equal(net_rx_check(&h, 1518, 0, 0, 1500), NET_PASS); /* VLAN tag */
	assert_int_equal(net_rx_check(&h, 1519, 0, 0, 1500), NET_DROP_OVERSIZE);
	assert_int_equal(net_rx_check(&h, 9018, 0, 0, 9000), NET_PASS);
	assert_int_equal(net_rx_check(&h, 10, 0, 0, 1500), NET_DROP_RUNT);
	/* Large segments only when the driver accepted them. */
	h = tso4(1448);
	assert_int_equal(net_rx_check(&h, 65000, 0, 0, 1500), NET_DROP_BAD_HEADER);
	h = tso4(1448);
	assert_int_equal(net_rx_check(&h, 65000, all, 0, 1500), NET_PASS);
	h = tso4(1448);
	h.gso_type = VIRTIO_NET_HDR_GSO_TCPV6;
	assert_int_equal(net_rx_check(&h, 65000, NET_OFFLOAD_CSUM | NET_OFFLOAD_TSO4, 0, 1500),
			 NET_DROP_BAD_HEADER);
	/* DATA_VALID is cleared for a driver without GUEST_CSUM. */
	h = (struct virtio_net_hdr){ .flags = VIRTIO_NET_HDR_F_DATA_VALID };
	assert_int_equal(net_rx_check(&h, 100, 0, 0, 1500), NET_PASS);
	assert_int_equal(h.flags, 0);
	h = (struct virtio_net_hdr){ .flags = VIRTIO_NET_HDR_F_DATA_VALID };
	assert_int_equal(net_rx_check(&h, 100, NET_OFFLOAD_CSUM, VIRTIO_NET_F_GUEST_CSUM, 1500),
			 NET_PASS);
	assert_int_equal(h.flags, VIRTIO_NET_HDR_F_DATA_VALID);
	/* A partial checksum needs GUEST_CSUM. */
	h = (struct virtio_net_hdr){ .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM, .csum_start = 34,
				     .csum_offset = 16 };
	assert_int_equal(net_rx_check(&h, 100, 0, 0, 1500), NET_DROP_BAD_HEADER);
}

static void guest_offloads_follow_features(void **state)
{
	(void)state;
	assert_int_equal(net_guest_offloads(VIRTIO_NET_F_GUEST_TSO4), 0); /* needs GUEST_CSUM */
	assert_int_equal(net_guest_offloads(VIRTIO_NET_F_GUEST_CSUM | VIRTIO_NET_F_GUEST_TSO4 |
					    VIRTIO_NET_F_GUEST_ECN),
			 NET_OFFLOAD_CSUM | NET_OFFLOAD_TSO4 | NET_OFFLOAD_ECN);
	assert_int_equal(net_guest_offloads(VIRTIO_NET_F_GUEST_CSUM | VIRTIO_NET_F_GUEST_USO4),
			 NET_OFFLOAD_CSUM); /* the TAP takes USO for both or none */
}

static void filter_rules(void **state)
{
	static const uint8_t own[6] = { 2, 0, 0, 0, 0, 1 }, other[6] = { 2, 0, 0, 0, 0, 2 },
			     bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff },
			     mcast[6] = { 0x01, 0x00, 0x5e, 0, 0, 1 },
			     mcast2[6] = { 0x33, 0x33, 0, 0, 0, 1 };
	struct net_filter f;
	struct net_ctrl_cmd c = { .class = VIRTIO_NET_CTRL_RX, .cmd = VIRTIO_NET_CTRL_RX_PROMISC };

	(void)state;
	net_filter_reset(&f);
	assert_true(net_filter_accept(&f, own, other)); /* promiscuous after reset */
	assert_true(net_filter_apply(&f, &c));          /* promisc off */
	assert_false(net_filter_accept(&f, own, other));
	assert_true(net_filter_accept(&f, own, own));
	assert_true(net_filter_accept(&f, own, bcast));
	assert_false(net_filter_accept(&f, own, mcast));
	c = (struct net_ctrl_cmd){ .class = VIRTIO_NET_CTRL_MAC,
				   .cmd = VIRTIO_NET_CTRL_MAC_TABLE_SET };
	c.multi.n = 1;
	memcpy(c.multi.mac[0], mcast, 6);
	c.uni.n = 1;
	memcpy(c.uni.mac[0], other, 6);
	assert_true(net_filter_apply(&f, &c));
	assert_true(net_filter_accept(&f, own, mcast));
	assert_false(net_filter_accept(&f, own, mcast2));
	assert_true(net_filter_accept(&f, own, other));
	c = (struct net_ctrl_cmd){ .class = VIRTIO_NET_CTRL_RX, .cmd = VIRTIO_NET_CTRL_RX_NOBCAST,
				   .on = true };
	net_filter_apply(&f, &c);
	assert_false(net_filter_accept(&f, own, bcast));
	c.cmd = VIRTIO_NET_CTRL_RX_NOUNI;
	net_filter_apply(&f, &c);
	assert_false(net_filter_accept(&f, own, own));
	c.cmd = VIRTIO_NET_CTRL_RX_ALLMULTI;
	net_filter_apply(&f, &c);
	assert_true(net_filter_accept(&f, own, mcast2));
	c.cmd = VIRTIO_NET_CTRL_RX_NOMULTI;
	net_filter_apply(&f, &c);
	assert_false(net_filter_accept(&f, own, mcast2));
}

/* class, cmd, then data: as the driver's readable buffers concatenate. */
static int parse(const void *bytes, size_t len, uint64_t acked, struct net_ctrl_cmd *c)
{
	return net_ctrl_parse(bytes, len, acked, 4, c);
}

static void ctrl_commands(void **state)
{
	static struct net_ctrl_cmd c;
	uint8_t promisc_on[] = { 0, 0, 1 }, nobcast[] = { 0, 5, 1 }, bad_rx[] = { 0, 6, 1 };
	uint8_t mac[] = { 1, 1, 2, 0, 0, 0, 0, 9 };
	uint8_t pairs[] = { 4, 0, 3, 0 }, pairs0[] = { 4, 0, 0, 0 }, pairs5[] = { 4, 0, 5, 0 };
	uint8_t ack[] = { 3, 0 }, vlan[] = { 2, 0, 1, 0 };
	uint8_t offl[] = { 5, 0, 2, 0, 0, 0, 0, 0, 0, 0 }, offl_bad[] = { 5, 0, 0, 8, 0, 0, 0, 0, 0, 0 };

	(void)state;
	assert_int_equal(parse(promisc_on, 3, CTRL_ALL, &c), 0);
	assert_true(c.on);
	assert_int_equal(parse(promisc_on, 3, CTRL_ALL & ~VIRTIO_NET_F_CTRL_RX, &c), -EINVAL);
	assert_int_equal(parse(promisc_on, 3, 0, &c), -EINVAL); /* no control queue */
	assert_int_equal(parse(promisc_on, 2, CTRL_ALL, &c), -EINVAL);
	assert_int_equal(parse(promisc_on, 1, CTRL_ALL, &c), -EINVAL);
	assert_int_equal(parse(nobcast, 3, CTRL_ALL, &c), 0);
	assert_int_equal(parse(nobcast, 3, CTRL_ALL & ~VIRTIO_NET_F_CTRL_RX_EXTRA, &c), -EINVAL);
	assert_int_equal(parse(bad_rx, 3, CTRL_ALL, &c), -EINVAL);
	assert_int_equal(parse(mac, 8, CTRL_ALL, &c), 0);
	assert_memory_equal(c.mac, mac + 2, 6);
	assert_int_equal(parse(mac, 7, CTRL_ALL, &c), -EINVAL);
	assert_int_equal(parse(pairs, 4, CTRL_ALL, &c), 0);
	assert_int_equal(c.pairs, 3);
	assert_int_equal(parse(pairs0, 4, CTRL_ALL, &c), -EINVAL);
	assert_int_equal(parse(pairs5, 4, CTRL_ALL, &c), -EINVAL);
	assert_int_equal(parse(ack, 2, CTRL_ALL, &c), 0);
	assert_int_equal(parse(vlan, 4, CTRL_ALL, &c), -EINVAL);
	assert_int_equal(parse(offl, 10, CTRL_ALL, &c), 0); /* GUEST_CSUM off... */
	assert_true(c.offloads == VIRTIO_NET_F_GUEST_CSUM);
	assert_int_equal(parse(offl_bad, 10, CTRL_ALL, &c), -EINVAL); /* not negotiated */
}

static void ctrl_mac_tables(void **state)
{
	static struct net_ctrl_cmd c;
	static uint8_t buf[2 + 4 + 6 * 70 + 4 + 6];
	size_t off = 0;

	(void)state;
	buf[off++] = VIRTIO_NET_CTRL_MAC;
	buf[off++] = VIRTIO_NET_CTRL_MAC_TABLE_SET;
	buf[off] = 2;
	off += 4;
	memset(buf + off, 0x02, 12);
	off += 12;
	buf[off] = 1;
	off += 4;
	memset(buf + off, 0x01, 6);
	off += 6;
	assert_int_equal(parse(buf, off, CTRL_ALL, &c), 0);
	assert_int_equal(c.uni.n, 2);
	assert_int_equal(c.multi.n, 1);
	assert_false(c.uni.overflow);
	assert_int_equal(parse(buf, off - 1, CTRL_ALL, &c), -EINVAL); /* short */
	assert_int_equal(parse(buf, off + 1, CTRL_ALL, &c), -EINVAL); /* trailing byte */
	/* A count larger than the data must not be believed. */
	buf[2] = 0xff;
	buf[3] = 0xff;
	buf[4] = 0xff;
	buf[5] = 0xff;
	assert_int_equal(parse(buf, off, CTRL_ALL, &c), -EINVAL);
	/* 70 unicast entries: more than the table, so all unicast passes. */
	memset(buf, 0, sizeof(buf));
	buf[0] = VIRTIO_NET_CTRL_MAC;
	buf[2] = 70;
	buf[2 + 4 + 6 * 70] = 1;
	assert_int_equal(parse(buf, sizeof(buf), CTRL_ALL, &c), 0);
	assert_true(c.uni.overflow);
	assert_int_equal(c.uni.n, NET_MAC_TABLE_MAX);
}

/* A control request as a driver puts it in guest memory: header, data and
 * ack in separate descriptors; the parser sees the readable part joined. */
static void ctrl_from_guest_memory(void **state)
{
	struct guest_mem_layout l = { .ram_size = 1 << 20, .hole_start = 1 << 20,
				      .hole_end = 1 << 20 };
	static struct virtq_elem e;
	static struct net_ctrl_cmd c;
	struct guest_mem gm;
	struct virtqueue vq;
	struct vring_desc *desc;
	uint16_t *avail;
	uint8_t joined[64];
	size_t len;

	(void)state;
	assert_int_equal(guest_mem_init(&gm, &l), 0);
	virtq_init(&vq, 16);
	vq.cfg = (struct virtq_config){ .size = 16, .enabled = true, .desc = 0x1000,
					.avail = 0x2000, .used = 0x3000 };
	assert_int_equal(virtq_activate(&vq, &gm, false), 0);
	desc = gm_ptr(&gm, 0x1000, 16 * 16);
	avail = gm_ptr(&gm, 0x2000, 6 + 32);
	memcpy(gm_ptr(&gm, 0x8000, 2), (uint8_t[]){ VIRTIO_NET_CTRL_MQ, 0 }, 2);
	memcpy(gm_ptr(&gm, 0x8100, 2), (uint8_t[]){ 2, 0 }, 2);
	desc[0] = (struct vring_desc){ .addr = 0x8000, .len = 2, .flags = VRING_DESC_F_NEXT, .next = 1 };
	desc[1] = (struct vring_desc){ .addr = 0x8100, .len = 2, .flags = VRING_DESC_F_NEXT, .next = 2 };
	desc[2] = (struct vring_desc){ .addr = 0x8200, .len = 1, .flags = VRING_DESC_F_WRITE };
	avail[2] = 0;
	avail[1] = 1;
	assert_int_equal(virtq_pop(&vq, &e), 1);
	assert_int_equal(e.out_len, 4);
	assert_int_equal(e.in_len, 1);
	len = iov_to_buf(e.iov, e.out_num, 0, joined, sizeof(joined));
	assert_int_equal(net_ctrl_parse(joined, len, CTRL_ALL, 4, &c), 0);
	assert_int_equal(c.class, VIRTIO_NET_CTRL_MQ);
	assert_int_equal(c.pairs, 2);
	guest_mem_destroy(&gm);
}

static void default_macs(void **state)
{
	uint8_t a[6], b[6], c[6], a2[6];
	char s[18];

	(void)state;
	net_default_mac("alpha", 0, a);
	net_default_mac("alpha", 0, a2);
	net_default_mac("alpha", 1, b);
	net_default_mac("beta", 0, c);
	assert_memory_equal(a, a2, 6); /* stable */
	assert_memory_not_equal(a, b, 6);
	assert_memory_not_equal(a, c, 6);
	for (int i = 0; i < 3; i++) {
		const uint8_t *m = i == 0 ? a : i == 1 ? b : c;

		assert_int_equal(m[0] & 1, 0); /* unicast */
		assert_int_equal(m[0] & 2, 2); /* locally administered */
	}
	net_format_mac((const uint8_t[]){ 0x52, 0x54, 0, 0x12, 0x34, 0xab }, s);
	assert_string_equal(s, "52:54:00:12:34:ab");
}

/* No two of many names share a MAC (the hash spreads them). */
static void default_macs_spread(void **state)
{
	static uint8_t macs[2000][6];
	char name[32];

	(void)state;
	for (int i = 0; i < 2000; i++) {
		snprintf(name, sizeof(name), "vm-%d", i);
		net_default_mac(name, 0, macs[i]);
		for (int j = 0; j < i; j++)
			assert_memory_not_equal(macs[i], macs[j], 6);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(tx_plain_frames),
		cmocka_unit_test(tx_checksum_offload),
		cmocka_unit_test(tx_segmentation_offload),
		cmocka_unit_test(rx_frames_from_backend),
		cmocka_unit_test(guest_offloads_follow_features),
		cmocka_unit_test(filter_rules),
		cmocka_unit_test(ctrl_commands),
		cmocka_unit_test(ctrl_mac_tables),
		cmocka_unit_test(ctrl_from_guest_memory),
		cmocka_unit_test(default_macs),
		cmocka_unit_test(default_macs_spread),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
