/* virtio-blk requests (virtio 1.2, 5.2.6): parsing and validation of what
 * a driver put in a descriptor chain, kept apart from the device so that
 * unit tests and the fuzz target drive it over a fake guest memory.
 *
 * Framing is free (VERSION_1 implies ANY_LAYOUT): the 16-byte header is
 * the first bytes of the device-readable part wherever the descriptors
 * split it, the status byte is the last device-writable byte, and the
 * data lies in between. */
#ifndef SARDINE_VIRTIO_BLK_REQ_H
#define SARDINE_VIRTIO_BLK_REQ_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "block/block.h"
#include "virtio/queue.h"

/* Feature bits (5.2.3). */
#define VIRTIO_BLK_F_SIZE_MAX (1ULL << 1)
#define VIRTIO_BLK_F_SEG_MAX (1ULL << 2)
#define VIRTIO_BLK_F_RO (1ULL << 5)
#define VIRTIO_BLK_F_BLK_SIZE (1ULL << 6)
#define VIRTIO_BLK_F_FLUSH (1ULL << 9)
#define VIRTIO_BLK_F_TOPOLOGY (1ULL << 10)
#define VIRTIO_BLK_F_MQ (1ULL << 12)
#define VIRTIO_BLK_F_DISCARD (1ULL << 13)
#define VIRTIO_BLK_F_WRITE_ZEROES (1ULL << 14)

/* Request types and status values (5.2.6). */
#define VIRTIO_BLK_T_IN 0
#define VIRTIO_BLK_T_OUT 1
#define VIRTIO_BLK_T_FLUSH 4
#define VIRTIO_BLK_T_GET_ID 8
#define VIRTIO_BLK_T_DISCARD 11
#define VIRTIO_BLK_T_WRITE_ZEROES 13
#define VIRTIO_BLK_S_OK 0
#define VIRTIO_BLK_S_IOERR 1
#define VIRTIO_BLK_S_UNSUPP 2

#define VIRTIO_BLK_ID_BYTES 20
#define VIRTIO_BLK_FLAG_UNMAP 1
#define VBLK_HDR_LEN 16
#define VBLK_RANGE_LEN 16
#define VBLK_SEG_MAX 254 /* data segments a request may have, at most */

/* Configuration space (5.2.4), little-endian, as the guest reads it. */
struct vblk_config {
	uint64_t capacity;
	uint32_t size_max;
	uint32_t seg_max;
	uint16_t cylinders;
	uint8_t heads;
	uint8_t sectors;
	uint32_t blk_size;
	uint8_t physical_block_exp;
	uint8_t alignment_offset;
	uint16_t min_io_size;
	uint32_t opt_io_size;
	uint8_t writeback;
	uint8_t unused0;
	uint16_t num_queues;
	uint32_t max_discard_sectors;
	uint32_t max_discard_seg;
	uint32_t discard_sector_alignment;
	uint32_t max_write_zeroes_sectors;
	uint32_t max_write_zeroes_seg;
	uint8_t write_zeroes_may_unmap;
	uint8_t unused1[3];
} __attribute__((packed));

/* What a request may ask for: the disk and the negotiated features. */
struct vblk_limits {
	uint64_t capacity;      /* 512-byte sectors */
	bool readonly;
	bool flush, discard, write_zeroes;
	uint32_t seg_max;       /* <= VBLK_SEG_MAX */
	uint32_t size_max;      /* bytes per data segment */
	uint32_t max_discard_sectors, max_discard_seg;
	uint32_t max_write_zeroes_sectors, max_write_zeroes_seg;
};

struct vblk_request {
	uint32_t type;
	uint64_t sector;
	uint8_t *status;             /* in guest RAM */
	struct iovec data[VBLK_SEG_MAX];
	unsigned int data_cnt;
	uint64_t data_len;
	struct blk_range ranges[BLK_MAX_RANGES]; /* bytes, checked */
	unsigned int nr_ranges;
	bool unmap;                  /* write-zeroes may deallocate */
	uint32_t used_len;           /* device-written bytes on success */
};

/* 0: a valid request to execute; VIRTIO_BLK_S_IOERR or _UNSUPP: complete
 * it with that status (req->status is set); -EINVAL: the chain itself is
 * malformed (no status byte or no header), the device needs a reset. */
int vblk_parse(const struct vblk_limits *lim, const struct virtq_elem *elem,
	       struct vblk_request *req);

/* Fills a GET_ID reply (the serial, zero padded); returns bytes written. */
uint32_t vblk_write_id(const struct vblk_request *req, const char *serial);

#endif
