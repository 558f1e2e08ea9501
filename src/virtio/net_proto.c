/* virtio-net protocol checks: see net_proto.h.  Everything here reads bytes
 * that sardine already copied out of guest memory or that the kernel wrote,
 * and trusts none of them. */
#include "virtio/net_proto.h"

#include <errno.h>
#include <string.h>

#include "net/backend.h"

unsigned int net_guest_offloads(uint64_t features)
{
	unsigned int o = 0;

	/* Every receive offload needs checksum offload (virtio 1.2, 5.1.3.1). */
	if (!(features & VIRTIO_NET_F_GUEST_CSUM))
		return 0;
	o |= NET_OFFLOAD_CSUM;
	if (features & VIRTIO_NET_F_GUEST_TSO4)
		o |= NET_OFFLOAD_TSO4;
	if (features & VIRTIO_NET_F_GUEST_TSO6)
		o |= NET_OFFLOAD_TSO6;
	if ((features & VIRTIO_NET_F_GUEST_ECN) && (o & (NET_OFFLOAD_TSO4 | NET_OFFLOAD_TSO6)))
		o |= NET_OFFLOAD_ECN;
	if (features & VIRTIO_NET_F_GUEST_UFO)
		o |= NET_OFFLOAD_UFO;
	if ((features & VIRTIO_NET_F_GUEST_USO4) && (features & VIRTIO_NET_F_GUEST_USO6))
		o |= NET_OFFLOAD_USO4 | NET_OFFLOAD_USO6;
	return o;
}

static bool csum_fits(const struct virtio_net_hdr *h, uint64_t frame_len)
{
	return (uint64_t)h->csum_start + h->csum_offset + 2 <= frame_len;
}

enum net_verdict net_tx_check(struct virtio_net_hdr *h, uint64_t frame_len, uint64_t acked)
{
	uint8_t gso = h->gso_type & (uint8_t)~VIRTIO_NET_HDR_GSO_ECN;
	bool ecn = h->gso_type & VIRTIO_NET_HDR_GSO_ECN;
	uint64_t need;

	if (frame_len < NET_ETH_HLEN)
		return NET_DROP_RUNT;
	if (frame_len > NET_MAX_FRAME)
		return NET_DROP_OVERSIZE;
	/* DATA_VALID and RSC_INFO only ever travel towards the driver. */
	if (h->flags & ~VIRTIO_NET_HDR_F_NEEDS_CSUM)
		return NET_DROP_BAD_HEADER;
	if (h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) {
		if (!(acked & VIRTIO_NET_F_CSUM) || !csum_fits(h, frame_len))
			return NET_DROP_BAD_HEADER;
	} else {
		h->csum_start = h->csum_offset = 0;
	}
	h->num_buffers = 0;
	switch (gso) {
	case VIRTIO_NET_HDR_GSO_NONE:
		if (ecn)
			return NET_DROP_BAD_HEADER;
		h->hdr_len = h->gso_size = 0;
		return NET_PASS;
	case VIRTIO_NET_HDR_GSO_TCPV4: need = VIRTIO_NET_F_HOST_TSO4; break;
	case VIRTIO_NET_HDR_GSO_TCPV6: need = VIRTIO_NET_F_HOST_TSO6; break;
	case VIRTIO_NET_HDR_GSO_UDP: need = VIRTIO_NET_F_HOST_UFO; break;
	case VIRTIO_NET_HDR_GSO_UDP_L4: need = VIRTIO_NET_F_HOST_USO; break;
	default: return NET_DROP_BAD_HEADER;
	}
	if (!(acked & need))
		return NET_DROP_BAD_HEADER;
	if (ecn && (!(acked & VIRTIO_NET_F_HOST_ECN) ||
		    (gso != VIRTIO_NET_HDR_GSO_TCPV4 && gso != VIRTIO_NET_HDR_GSO_TCPV6)))
		return NET_DROP_BAD_HEADER;
	/* A large segment comes with a partial checksum and a segment size
	 * (virtio 1.2, 5.1.6.2.1). */
	if (!(h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) || h->gso_size == 0 ||
	    h->hdr_len > frame_len)
		return NET_DROP_BAD_HEADER;
	return NET_PASS;
}

enum net_verdict net_rx_check(struct virtio_net_hdr *h, uint64_t frame_len,
			      unsigned int offloads, uint64_t acked, unsigned int mtu)
{
	uint8_t gso = h->gso_type & (uint8_t)~VIRTIO_NET_HDR_GSO_ECN;
	bool ecn = h->gso_type & VIRTIO_NET_HDR_GSO_ECN;
	unsigned int need;

	if (frame_len < NET_ETH_HLEN)
		return NET_DROP_RUNT;
	if (frame_len > NET_MAX_FRAME)
		return NET_DROP_OVERSIZE;
	switch (gso) {
	case VIRTIO_NET_HDR_GSO_NONE:
		if (ecn)
			return NET_DROP_BAD_HEADER;
		if (frame_len > (uint64_t)mtu + NET_ETH_HLEN + NET_VLAN_HLEN)
			return NET_DROP_OVERSIZE;
		need = 0;
		break;
	case VIRTIO_NET_HDR_GSO_TCPV4: need = NET_OFFLOAD_TSO4; break;
	case VIRTIO_NET_HDR_GSO_TCPV6: need = NET_OFFLOAD_TSO6; break;
	case VIRTIO_NET_HDR_GSO_UDP: need = NET_OFFLOAD_UFO; break;
	case VIRTIO_NET_HDR_GSO_UDP_L4: need = NET_OFFLOAD_USO4 | NET_OFFLOAD_USO6; break;
	default: return NET_DROP_BAD_HEADER;
	}
	if ((offloads & need) != need || (ecn && !(offloads & NET_OFFLOAD_ECN)))
		return NET_DROP_BAD_HEADER;
	if (h->flags & ~(VIRTIO_NET_HDR_F_NEEDS_CSUM | VIRTIO_NET_HDR_F_DATA_VALID))
		return NET_DROP_BAD_HEADER;
	if (h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) {
		if (!(offloads & NET_OFFLOAD_CSUM) || !csum_fits(h, frame_len))
			return NET_DROP_BAD_HEADER;
	}
	if (!(acked & VIRTIO_NET_F_GUEST_CSUM))
		h->flags &= (uint8_t)~VIRTIO_NET_HDR_F_DATA_VALID;
	return NET_PASS;
}

void net_filter_reset(struct net_filter *f)
{
	memset(f, 0, sizeof(*f));
	f->promisc = true;
}

static bool in_table(const struct net_mac_table *t, const uint8_t mac[ETH_ALEN])
{
	uint32_t n = t->n < NET_MAC_TABLE_MAX ? t->n : NET_MAC_TABLE_MAX;

	for (uint32_t i = 0; i < n; i++)
		if (memcmp(t->mac[i], mac, ETH_ALEN) == 0)
			return true;
	return false;
}

bool net_filter_accept(const struct net_filter *f, const uint8_t own[ETH_ALEN],
		       const uint8_t dst[ETH_ALEN])
{
	static const uint8_t bcast[ETH_ALEN] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

	if (f->promisc)
		return true;
	if (memcmp(dst, bcast, ETH_ALEN) == 0)
		return !f->nobcast;
	if (dst[0] & 1) {
		if (f->nomulti)
			return false;
		return f->allmulti || f->multi.overflow || in_table(&f->multi, dst);
	}
	if (f->nouni)
		return false;
	return f->alluni || f->uni.overflow || memcmp(dst, own, ETH_ALEN) == 0 ||
	       in_table(&f->uni, dst);
}

static uint32_t get_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* One table of MAC_TABLE_SET: le32 entries, then entries * 6 bytes. */
static int parse_table(const uint8_t *data, size_t len, size_t *off, struct net_mac_table *t)
{
	uint32_t n;

	if (len - *off < 4)
		return -EINVAL;
	n = get_le32(data + *off);
	*off += 4;
	if (n > (len - *off) / ETH_ALEN)
		return -EINVAL;
	t->n = n < NET_MAC_TABLE_MAX ? n : NET_MAC_TABLE_MAX;
	t->overflow = n > NET_MAC_TABLE_MAX;
	memcpy(t->mac, data + *off, (size_t)t->n * ETH_ALEN);
	*off += (size_t)n * ETH_ALEN;
	return 0;
}

#define GUEST_OFFLOAD_BITS                                                                  \
	(VIRTIO_NET_F_GUEST_CSUM | VIRTIO_NET_F_GUEST_TSO4 | VIRTIO_NET_F_GUEST_TSO6 |      \
	 VIRTIO_NET_F_GUEST_ECN | VIRTIO_NET_F_GUEST_UFO | VIRTIO_NET_F_GUEST_USO4 |        \
	 VIRTIO_NET_F_GUEST_USO6)

static int parse_data(struct net_ctrl_cmd *c, const uint8_t *data, size_t len, uint64_t acked,
		      uint16_t max_pairs)
{
	size_t off = 0;

	switch (c->class) {
	case VIRTIO_NET_CTRL_RX:
		if (!(acked & VIRTIO_NET_F_CTRL_RX) || len != 1 ||
		    c->cmd > VIRTIO_NET_CTRL_RX_NOBCAST)
			return -EINVAL;
		if (c->cmd > VIRTIO_NET_CTRL_RX_ALLMULTI && !(acked & VIRTIO_NET_F_CTRL_RX_EXTRA))
			return -EINVAL;
		c->on = data[0] != 0;
		return 0;
	case VIRTIO_NET_CTRL_MAC:
		if (c->cmd == VIRTIO_NET_CTRL_MAC_ADDR_SET) {
			if (!(acked & VIRTIO_NET_F_CTRL_MAC_ADDR) || len != ETH_ALEN)
				return -EINVAL;
			memcpy(c->mac, data, ETH_ALEN);
			return 0;
		}
		if (c->cmd != VIRTIO_NET_CTRL_MAC_TABLE_SET || !(acked & VIRTIO_NET_F_CTRL_RX))
			return -EINVAL;
		if (parse_table(data, len, &off, &c->uni) || parse_table(data, len, &off, &c->multi))
			return -EINVAL;
		return off == len ? 0 : -EINVAL;
	case VIRTIO_NET_CTRL_ANNOUNCE:
		return (acked & VIRTIO_NET_F_GUEST_ANNOUNCE) && c->cmd == VIRTIO_NET_CTRL_ANNOUNCE_ACK &&
			       len == 0 ? 0 : -EINVAL;
	case VIRTIO_NET_CTRL_MQ:
		if (!(acked & VIRTIO_NET_F_MQ) || c->cmd != VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET || len != 2)
			return -EINVAL;
		c->pairs = (uint16_t)(data[0] | data[1] << 8);
		return c->pairs >= 1 && c->pairs <= max_pairs ? 0 : -EINVAL;
	case VIRTIO_NET_CTRL_GUEST_OFFLOADS:
		if (!(acked & VIRTIO_NET_F_CTRL_GUEST_OFFLOADS) ||
		    c->cmd != VIRTIO_NET_CTRL_GUEST_OFFLOADS_SET || len != 8)
			return -EINVAL;
		c->offloads = (uint64_t)get_le32(data) | (uint64_t)get_le32(data + 4) << 32;
		/* Only receive offloads the driver negotiated may be toggled. */
		return c->offloads & ~(acked & GUEST_OFFLOAD_BITS) ? -EINVAL : 0;
	default:
		return -EINVAL; /* VLAN filtering, RSS: not offered */
	}
}

int net_ctrl_parse(const uint8_t *buf, size_t len, uint64_t acked, uint16_t max_pairs,
		   struct net_ctrl_cmd *cmd)
{
	if (len < 2 || len > NET_CTRL_MAX_LEN || !(acked & VIRTIO_NET_F_CTRL_VQ))
		return -EINVAL;
	memset(cmd, 0, sizeof(*cmd));
	cmd->class = buf[0];
	cmd->cmd = buf[1];
	return parse_data(cmd, buf + 2, len - 2, acked, max_pairs);
}

bool net_filter_apply(struct net_filter *f, const struct net_ctrl_cmd *c)
{
	if (c->class == VIRTIO_NET_CTRL_MAC && c->cmd == VIRTIO_NET_CTRL_MAC_TABLE_SET) {
		f->uni = c->uni;
		f->multi = c->multi;
		return true;
	}
	if (c->class != VIRTIO_NET_CTRL_RX)
		return false;
	switch (c->cmd) {
	case VIRTIO_NET_CTRL_RX_PROMISC: f->promisc = c->on; break;
	case VIRTIO_NET_CTRL_RX_ALLMULTI: f->allmulti = c->on; break;
	case VIRTIO_NET_CTRL_RX_ALLUNI: f->alluni = c->on; break;
	case VIRTIO_NET_CTRL_RX_NOMULTI: f->nomulti = c->on; break;
	case VIRTIO_NET_CTRL_RX_NOUNI: f->nouni = c->on; break;
	case VIRTIO_NET_CTRL_RX_NOBCAST: f->nobcast = c->on; break;
	default: return false;
	}
	return true;
}
