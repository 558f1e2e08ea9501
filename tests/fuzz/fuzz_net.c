/* Fuzz target: virtio-net's control-queue and frame-header parsers, fed
 * the way the device feeds them: chains popped from a virtqueue in guest
 * memory the fuzzer writes, their readable bytes joined and parsed, the
 * result applied to a receive filter; plus transmit and receive header
 * checks on fuzzed headers.  Input: a header (features, queue geometry,
 * MTU, offloads), then the bytes of guest RAM.  Whatever the bytes, nothing
 * may crash, read or write outside guest RAM or the buffers, or loop. */
#include <stdint.h>
#include <string.h>

#include "virtio/net_proto.h"
#include "virtio/queue.h"
#include "vmm/guest_mem.h"

#define RAM (64 * 1024)

struct header {
	uint64_t acked;
	uint16_t size;
	uint16_t pops;
	uint32_t desc, avail, used;
	uint16_t mtu;
	uint16_t max_pairs;
	uint32_t offloads;
	uint8_t dst[6];
	uint8_t mode;
	uint8_t pad;
};

static struct virtq_elem elem;
static struct net_ctrl_cmd cmd;
static struct net_filter filter;
static uint8_t buf[NET_CTRL_MAX_LEN];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

/* What net.c does with a control request. */
static void control(const struct header *h)
{
	size_t n;

	if (elem.out_len > sizeof(buf))
		return;
	n = iov_to_buf(elem.iov, elem.out_num, 0, buf, sizeof(buf));
	if (net_ctrl_parse(buf, n, h->acked, h->max_pairs, &cmd) == 0)
		net_filter_apply(&filter, &cmd);
	net_filter_accept(&filter, h->dst, buf + (n > 6 ? n - 6 : 0));
	iov_from_buf(elem.iov + elem.out_num, elem.in_num, 0, "\0", 1);
}

/* What net_io.c does with a frame to transmit and one received. */
static void frame(const struct header *h)
{
	struct virtio_net_hdr hdr;

	if (elem.out_len < VIRTIO_NET_HDR_LEN)
		return;
	iov_to_buf(elem.iov, elem.out_num, 0, &hdr, sizeof(hdr));
	net_tx_check(&hdr, elem.out_len - VIRTIO_NET_HDR_LEN, h->acked);
	iov_to_buf(elem.iov, elem.out_num, 0, &hdr, sizeof(hdr));
	net_rx_check(&hdr, elem.out_len - VIRTIO_NET_HDR_LEN, h->offloads, h->acked, h->mtu);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	static struct guest_mem gm;
	static int ready;
	struct virtqueue vq;
	struct header h;

	if (!ready) {
		struct guest_mem_layout l = { .ram_size = 2 * RAM, .hole_start = RAM,
					      .hole_end = 4 * RAM };

		if (guest_mem_init(&gm, &l))
			return 0;
		ready = 1;
	}
	if (len < sizeof(h))
		return 0;
	memcpy(&h, data, sizeof(h));
	data += sizeof(h);
	len -= sizeof(h);
	memset(gm.region[0].hva, 0, RAM);
	memset(gm.region[1].hva, 0, RAM);
	memcpy(gm.region[0].hva, data, len < RAM ? len : RAM);
	if (len > RAM)
		memcpy(gm.region[1].hva, data + RAM, len - RAM < RAM ? len - RAM : RAM);
	net_filter_reset(&filter);

	virtq_init(&vq, VIRTQ_MAX_SIZE);
	vq.cfg.size = h.size;
	vq.cfg.desc = h.desc;
	vq.cfg.avail = h.avail;
	vq.cfg.used = h.used;
	if (virtq_activate(&vq, &gm, h.mode & 1))
		return 0;
	for (unsigned int i = 0; i < (h.pops & 0xff); i++) {
		if (virtq_pop(&vq, &elem) <= 0)
			break;
		if (h.mode & 2)
			frame(&h);
		else
			control(&h);
		virtq_push(&vq, elem.head, 1);
	}
	return 0;
}
