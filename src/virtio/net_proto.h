/* virtio-net protocol: the per-frame header, the control queue commands
 * and the receive filter (virtio 1.2, section 5.1), as pure functions over
 * bytes that were already copied out of guest memory.  No I/O, no threads:
 * unit tests and the fuzz target call these directly. */
#ifndef SARDINE_VIRTIO_NET_PROTO_H
#define SARDINE_VIRTIO_NET_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Feature bits. */
#define VIRTIO_NET_F_CSUM (1ULL << 0)
#define VIRTIO_NET_F_GUEST_CSUM (1ULL << 1)
#define VIRTIO_NET_F_CTRL_GUEST_OFFLOADS (1ULL << 2)
#define VIRTIO_NET_F_MTU (1ULL << 3)
#define VIRTIO_NET_F_MAC (1ULL << 5)
#define VIRTIO_NET_F_GUEST_TSO4 (1ULL << 7)
#define VIRTIO_NET_F_GUEST_TSO6 (1ULL << 8)
#define VIRTIO_NET_F_GUEST_ECN (1ULL << 9)
#define VIRTIO_NET_F_GUEST_UFO (1ULL << 10)
#define VIRTIO_NET_F_HOST_TSO4 (1ULL << 11)
#define VIRTIO_NET_F_HOST_TSO6 (1ULL << 12)
#define VIRTIO_NET_F_HOST_ECN (1ULL << 13)
#define VIRTIO_NET_F_HOST_UFO (1ULL << 14)
#define VIRTIO_NET_F_MRG_RXBUF (1ULL << 15)
#define VIRTIO_NET_F_STATUS (1ULL << 16)
#define VIRTIO_NET_F_CTRL_VQ (1ULL << 17)
#define VIRTIO_NET_F_CTRL_RX (1ULL << 18)
#define VIRTIO_NET_F_CTRL_VLAN (1ULL << 19)
#define VIRTIO_NET_F_CTRL_RX_EXTRA (1ULL << 20)
#define VIRTIO_NET_F_GUEST_ANNOUNCE (1ULL << 21)
#define VIRTIO_NET_F_MQ (1ULL << 22)
#define VIRTIO_NET_F_CTRL_MAC_ADDR (1ULL << 23)
#define VIRTIO_NET_F_GUEST_USO4 (1ULL << 54)
#define VIRTIO_NET_F_GUEST_USO6 (1ULL << 55)
#define VIRTIO_NET_F_HOST_USO (1ULL << 56)

/* Configuration space status. */
#define VIRTIO_NET_S_LINK_UP 1
#define VIRTIO_NET_S_ANNOUNCE 2

/* The header before every frame (12 bytes: VERSION_1 always has
 * num_buffers).  Little-endian, like the host. */
struct virtio_net_hdr {
	uint8_t flags;
	uint8_t gso_type;
	uint16_t hdr_len;
	uint16_t gso_size;
	uint16_t csum_start;
	uint16_t csum_offset;
	uint16_t num_buffers;
};
#define VIRTIO_NET_HDR_LEN 12
#define VIRTIO_NET_HDR_NUM_BUFFERS 10 /* offset of num_buffers */

#define VIRTIO_NET_HDR_F_NEEDS_CSUM 1
#define VIRTIO_NET_HDR_F_DATA_VALID 2
#define VIRTIO_NET_HDR_GSO_NONE 0
#define VIRTIO_NET_HDR_GSO_TCPV4 1
#define VIRTIO_NET_HDR_GSO_UDP 3
#define VIRTIO_NET_HDR_GSO_TCPV6 4
#define VIRTIO_NET_HDR_GSO_UDP_L4 5
#define VIRTIO_NET_HDR_GSO_ECN 0x80

#ifndef ETH_ALEN
#define ETH_ALEN 6
#endif
#define NET_ETH_HLEN 14
#define NET_VLAN_HLEN 4
/* The largest frame either way: a 64 KiB IP packet behind a VLAN tag. */
#define NET_MAX_FRAME (65535 + NET_ETH_HLEN + NET_VLAN_HLEN)

/* What to do with a frame. */
enum net_verdict {
	NET_PASS = 0,
	NET_DROP_RUNT,       /* shorter than an Ethernet header */
	NET_DROP_OVERSIZE,   /* longer than the MTU allows, or than the buffers */
	NET_DROP_BAD_HEADER, /* virtio-net header inconsistent or not negotiated */
};

/* Offloads (NET_OFFLOAD_*) the driver accepts on receive, from its
 * features (or a CTRL_GUEST_OFFLOADS bitmap, which uses the same bits). */
unsigned int net_guest_offloads(uint64_t features);

/* A frame from the driver: frame_len bytes follow the header.  Checks the
 * header against the negotiated features and the frame, and clears the
 * fields the kernel must not look at.  NET_PASS or why to drop it. */
enum net_verdict net_tx_check(struct virtio_net_hdr *h, uint64_t frame_len, uint64_t acked);

/* A frame from the backend, before it is given to the driver: the header
 * must only use the offloads the driver accepted (`offloads`), and a frame
 * that is not a large segment must fit the MTU (plus Ethernet header and a
 * VLAN tag).  Clears DATA_VALID when the driver has no GUEST_CSUM. */
enum net_verdict net_rx_check(struct virtio_net_hdr *h, uint64_t frame_len,
			      unsigned int offloads, uint64_t acked, unsigned int mtu);

/* Receive filter. */
#define NET_MAC_TABLE_MAX 64

struct net_mac_table {
	uint32_t n;
	bool overflow; /* more than NET_MAC_TABLE_MAX: accept the whole class */
	uint8_t mac[NET_MAC_TABLE_MAX][ETH_ALEN];
};

struct net_filter {
	bool promisc, allmulti, alluni, nomulti, nouni, nobcast;
	struct net_mac_table uni, multi;
};

/* The state after reset: promiscuous, like every virtio-net device before
 * its driver says otherwise. */
void net_filter_reset(struct net_filter *f);
bool net_filter_accept(const struct net_filter *f, const uint8_t own[ETH_ALEN],
		       const uint8_t dst[ETH_ALEN]);

/* Control queue (virtio 1.2, 5.1.6.5). */
#define VIRTIO_NET_OK 0
#define VIRTIO_NET_ERR 1

#define VIRTIO_NET_CTRL_RX 0
#define VIRTIO_NET_CTRL_RX_PROMISC 0
#define VIRTIO_NET_CTRL_RX_ALLMULTI 1
#define VIRTIO_NET_CTRL_RX_ALLUNI 2
#define VIRTIO_NET_CTRL_RX_NOMULTI 3
#define VIRTIO_NET_CTRL_RX_NOUNI 4
#define VIRTIO_NET_CTRL_RX_NOBCAST 5
#define VIRTIO_NET_CTRL_MAC 1
#define VIRTIO_NET_CTRL_MAC_TABLE_SET 0
#define VIRTIO_NET_CTRL_MAC_ADDR_SET 1
#define VIRTIO_NET_CTRL_ANNOUNCE 3
#define VIRTIO_NET_CTRL_ANNOUNCE_ACK 0
#define VIRTIO_NET_CTRL_MQ 4
#define VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET 0
#define VIRTIO_NET_CTRL_GUEST_OFFLOADS 5
#define VIRTIO_NET_CTRL_GUEST_OFFLOADS_SET 0

/* The longest command accepted (a MAC table of ~5000 entries). */
#define NET_CTRL_MAX_LEN 32768

struct net_ctrl_cmd {
	uint8_t class, cmd;
	bool on;              /* RX class */
	uint8_t mac[ETH_ALEN]; /* MAC_ADDR_SET */
	uint16_t pairs;       /* MQ_VQ_PAIRS_SET */
	uint64_t offloads;    /* GUEST_OFFLOADS_SET, virtio feature bits */
	struct net_mac_table uni, multi; /* MAC_TABLE_SET */
};

/* Decodes the driver-readable part of a control request (class, command,
 * data).  0, or -EINVAL for a malformed or not negotiated command (the
 * driver gets VIRTIO_NET_ERR). */
int net_ctrl_parse(const uint8_t *buf, size_t len, uint64_t acked, uint16_t max_pairs,
		   struct net_ctrl_cmd *cmd);
/* Applies an RX-class or MAC_TABLE_SET command; false for other classes. */
bool net_filter_apply(struct net_filter *f, const struct net_ctrl_cmd *cmd);

#endif
