/* libFuzzer target: virtio-blk requests as a hostile driver posts them.
 *
 * The input becomes the first 64 KiB of a fake guest memory holding a
 * split ring (16 entries: descriptors at 0, available ring at 0x1000) and
 * whatever the descriptors point at; its last bytes choose the device's
 * limits.  Every chain the virtqueue accepts is parsed; accepted requests
 * are executed against a RAM disk, so the data iovecs are really read and
 * written (ASan checks they lie in guest memory), and what the parser
 * promised is asserted. */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "virtio/blk_req.h"
#include "virtio/queue.h"
#include "vmm/guest_mem.h"

#define RAM (1u << 20)
#define WINDOW (64u << 10)
#define QSIZE 16
#define MAX_CAPACITY 256 /* sectors of the RAM disk */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct guest_mem gm;
static uint8_t disk[MAX_CAPACITY * BLK_SECTOR];
static struct virtq_elem elem;
static struct vblk_request req;

static void execute(const struct vblk_limits *lim)
{
	uint64_t total = 0;

	for (unsigned int i = 0; i < req.data_cnt; i++) {
		total += req.data[i].iov_len;
		assert(gm_gpa_of(&gm, req.data[i].iov_base) != UINT64_MAX);
	}
	assert(total == req.data_len);
	switch (req.type) {
	case VIRTIO_BLK_T_IN:
	case VIRTIO_BLK_T_OUT:
		assert(req.data_cnt <= lim->seg_max);
		for (unsigned int i = 0; i < req.data_cnt; i++)
			assert(req.data[i].iov_len <= lim->size_max);
		assert(!(req.type == VIRTIO_BLK_T_OUT && lim->readonly));
		assert(req.data_len % BLK_SECTOR == 0);
		assert(req.sector <= lim->capacity &&
		       req.data_len / BLK_SECTOR <= lim->capacity - req.sector);
		if (req.type == VIRTIO_BLK_T_IN)
			iov_from_buf(req.data, req.data_cnt, 0, disk + req.sector * BLK_SECTOR,
				     req.data_len);
		else
			iov_to_buf(req.data, req.data_cnt, 0, disk + req.sector * BLK_SECTOR,
				   req.data_len);
		break;
	case VIRTIO_BLK_T_GET_ID:
		assert(vblk_write_id(&req, "fuzz-serial-number-x") == req.data_len);
		break;
	case VIRTIO_BLK_T_DISCARD:
	case VIRTIO_BLK_T_WRITE_ZEROES:
		assert(!lim->readonly);
		for (unsigned int i = 0; i < req.nr_ranges; i++) {
			const struct blk_range *r = &req.ranges[i];

			assert(r->len && r->offset % BLK_SECTOR == 0 && r->len % BLK_SECTOR == 0);
			assert(r->offset <= sizeof(disk) && r->len <= sizeof(disk) - r->offset);
			memset(disk + r->offset, 0, r->len);
		}
		break;
	case VIRTIO_BLK_T_FLUSH:
		assert(lim->flush);
		break;
	default:
		assert(0 && "an unknown type was accepted");
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vblk_limits lim = {
		.seg_max = VBLK_SEG_MAX, .size_max = 1 << 20,
		.max_discard_sectors = 64, .max_discard_seg = 4,
		.max_write_zeroes_sectors = 64, .max_write_zeroes_seg = 4,
	};
	struct virtqueue vq;
	uint8_t knobs = size ? data[size - 1] : 0;

	if (!gm.map_base) {
		struct guest_mem_layout l = { .ram_size = RAM, .hole_start = RAM, .hole_end = RAM };

		if (guest_mem_init(&gm, &l))
			abort();
	}
	memset(gm.map_base, 0, WINDOW);
	memcpy(gm.map_base, data, size < WINDOW ? size : WINDOW);
	lim.capacity = size > 1 ? data[size - 2] % (MAX_CAPACITY + 1) : MAX_CAPACITY;
	lim.readonly = knobs & 1;
	lim.flush = knobs & 2;
	lim.discard = knobs & 4;
	lim.write_zeroes = knobs & 8;
	if (knobs & 16)
		lim.seg_max = 1 + (knobs >> 5);
	if (knobs & 32)
		lim.size_max = 4096;

	virtq_init(&vq, QSIZE);
	vq.cfg.size = QSIZE;
	vq.cfg.desc = 0;
	vq.cfg.avail = 0x1000;
	vq.cfg.used = 0x2000;
	if (virtq_activate(&vq, &gm, knobs & 64))
		return 0;
	for (int n = 0; n < 2 * QSIZE; n++) {
		int got = virtq_pop(&vq, &elem), ret;

		if (got <= 0)
			break;
		ret = vblk_parse(&lim, &elem, &req);
		if (ret < 0)
			break; /* the device would now need a reset */
		assert(req.status && gm_gpa_of(&gm, req.status) != UINT64_MAX);
		assert(ret == 0 || ret == VIRTIO_BLK_S_IOERR || ret == VIRTIO_BLK_S_UNSUPP);
		if (ret == 0)
			execute(&lim);
		*req.status = (uint8_t)ret;
		virtq_push(&vq, elem.head, ret == 0 ? req.used_len : 1);
	}
	return 0;
}
