/* Fuzz target: the split virtqueue parser against guest memory the fuzzer
 * writes.  Input: a header choosing the queue size, ring addresses,
 * EVENT_IDX and a later rewrite of the size register, then the bytes of
 * guest RAM.  Whatever the bytes, virtq_*
 * must not crash, read or write outside guest RAM, or loop forever. */
#include <stdint.h>
#include <string.h>

#include "virtio/queue.h"
#include "vmm/guest_mem.h"

#define RAM (64 * 1024)

struct header {
	uint16_t size;
	uint16_t flags;
	uint32_t desc, avail, used;
	uint16_t pops;
	uint16_t used_event_bias;
};

static struct virtq_elem elem;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	static struct guest_mem gm;
	static int ready;
	struct virtqueue vq;
	struct header h;

	if (!ready) {
		/* Two regions with a hole between them, like a real guest. */
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

	virtq_init(&vq, VIRTQ_MAX_SIZE);
	vq.cfg.size = h.size;
	vq.cfg.desc = h.desc;
	vq.cfg.avail = h.avail;
	vq.cfg.used = h.used;
	if (virtq_activate(&vq, &gm, h.flags & 1))
		return 0;
	/* The driver may write queue_size again later (the transport refuses
	 * it while the queue runs, but the queue must not rely on that): the
	 * rings stay indexed with the size they were validated for. */
	if (h.flags & 4)
		vq.cfg.size = h.used_event_bias;
	for (unsigned int i = 0; i < (h.pops & 0x3ff); i++) {
		int got = virtq_pop(&vq, &elem);
		uint8_t scratch[256];

		if (got <= 0)
			break;
		/* Touch every byte the element claims, both directions. */
		iov_to_buf(elem.iov, elem.out_num, 0, scratch, sizeof(scratch));
		iov_from_buf(elem.iov + elem.out_num, elem.in_num, h.used_event_bias % 64,
			     scratch, sizeof(scratch));
		virtq_push(&vq, elem.head, (uint32_t)elem.in_len);
		virtq_should_signal(&vq);
		if (h.flags & 2)
			virtq_enable_notify(&vq);
		else
			virtq_disable_notify(&vq);
	}
	return 0;
}
