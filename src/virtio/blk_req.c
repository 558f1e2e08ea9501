/* virtio-blk request parsing: everything a guest can put in a request is
 * checked here, before any byte moves. */
#include "virtio/blk_req.h"

#include <assert.h>
#include <endian.h>
#include <errno.h>
#include <string.h>

static_assert(sizeof(struct vblk_config) == 60, "virtio-blk config layout (5.2.4)");

/* Appends the bytes [skip, skip + len) of iov[0..n) to out as at most max
 * iovecs; -E2BIG when more would be needed. */
static int carve(const struct iovec *iov, unsigned int n, uint64_t skip, uint64_t len,
		 struct iovec *out, unsigned int max, unsigned int *cnt)
{
	*cnt = 0;
	for (unsigned int i = 0; i < n && len; i++) {
		uint64_t l = iov[i].iov_len, c;

		if (skip >= l) {
			skip -= l;
			continue;
		}
		c = l - skip < len ? l - skip : len;
		if (*cnt == max)
			return -E2BIG;
		out[(*cnt)++] = (struct iovec){ (uint8_t *)iov[i].iov_base + skip, (size_t)c };
		len -= c;
		skip = 0;
	}
	return 0;
}

/* A sector range inside the disk; no overflow whatever the guest sends
 * (capacity * 512 fits in 64 bits, so sector <= capacity does too). */
static bool range_ok(const struct vblk_limits *lim, uint64_t sector, uint64_t sectors)
{
	return sector <= lim->capacity && sectors <= lim->capacity - sector;
}

/* Data of a read or write: whole sectors, within limits and the disk. */
static int check_data(const struct vblk_limits *lim, struct vblk_request *req)
{
	if (req->data_len % BLK_SECTOR || req->data_len >= UINT32_MAX)
		return VIRTIO_BLK_S_IOERR;
	for (unsigned int i = 0; i < req->data_cnt; i++)
		if (req->data[i].iov_len > lim->size_max)
			return VIRTIO_BLK_S_IOERR;
	if (!range_ok(lim, req->sector, req->data_len / BLK_SECTOR))
		return VIRTIO_BLK_S_IOERR;
	return 0;
}

static int parse_rw(const struct vblk_limits *lim, const struct virtq_elem *elem,
		    struct vblk_request *req)
{
	const struct iovec *in = elem->iov + elem->out_num;
	unsigned int seg_max = lim->seg_max < VBLK_SEG_MAX ? lim->seg_max : VBLK_SEG_MAX;

	if (req->type == VIRTIO_BLK_T_IN) {
		/* Header only readable, data then status writable. */
		if (elem->out_len != VBLK_HDR_LEN)
			return VIRTIO_BLK_S_IOERR;
		req->data_len = elem->in_len - 1;
		if (carve(in, elem->in_num, 0, req->data_len, req->data, seg_max, &req->data_cnt))
			return VIRTIO_BLK_S_IOERR;
	} else {
		if (lim->readonly || elem->in_len != 1)
			return VIRTIO_BLK_S_IOERR;
		req->data_len = elem->out_len - VBLK_HDR_LEN;
		if (carve(elem->iov, elem->out_num, VBLK_HDR_LEN, req->data_len, req->data, seg_max,
			  &req->data_cnt))
			return VIRTIO_BLK_S_IOERR;
	}
	if (check_data(lim, req))
		return VIRTIO_BLK_S_IOERR;
	if (req->type == VIRTIO_BLK_T_IN)
		req->used_len = (uint32_t)req->data_len + 1;
	return 0;
}

static int parse_get_id(const struct virtq_elem *elem, struct vblk_request *req)
{
	uint64_t len = elem->in_len - 1;

	if (elem->out_len != VBLK_HDR_LEN || len == 0)
		return VIRTIO_BLK_S_IOERR;
	if (len > VIRTIO_BLK_ID_BYTES)
		len = VIRTIO_BLK_ID_BYTES;
	carve(elem->iov + elem->out_num, elem->in_num, 0, len, req->data, VIRTIO_BLK_ID_BYTES,
	      &req->data_cnt);
	req->data_len = len;
	req->used_len = (uint32_t)len + 1;
	return 0;
}

/* Discard and write-zeroes: an array of {le64 sector, le32 num_sectors,
 * le32 flags} after the header (5.2.6). */
static int parse_ranges(const struct vblk_limits *lim, const struct virtq_elem *elem,
			struct vblk_request *req)
{
	bool wz = req->type == VIRTIO_BLK_T_WRITE_ZEROES;
	uint32_t max_seg = wz ? lim->max_write_zeroes_seg : lim->max_discard_seg;
	uint32_t max_sectors = wz ? lim->max_write_zeroes_sectors : lim->max_discard_sectors;
	uint64_t bytes = elem->out_len - VBLK_HDR_LEN, n = bytes / VBLK_RANGE_LEN;

	if (!(wz ? lim->write_zeroes : lim->discard))
		return VIRTIO_BLK_S_UNSUPP;
	if (lim->readonly || elem->in_len != 1)
		return VIRTIO_BLK_S_IOERR;
	if (bytes == 0 || bytes % VBLK_RANGE_LEN || n > max_seg || n > BLK_MAX_RANGES)
		return VIRTIO_BLK_S_IOERR;
	req->unmap = wz;
	for (unsigned int i = 0; i < n; i++) {
		uint8_t raw[VBLK_RANGE_LEN];
		uint64_t sector;
		uint32_t num, flags;

		iov_to_buf(elem->iov, elem->out_num, VBLK_HDR_LEN + (size_t)i * VBLK_RANGE_LEN, raw,
			   sizeof(raw));
		memcpy(&sector, raw, 8);
		memcpy(&num, raw + 8, 4);
		memcpy(&flags, raw + 12, 4);
		sector = le64toh(sector);
		num = le32toh(num);
		flags = le32toh(flags);
		/* Unknown flags, or unmap on a discard: the spec says UNSUPP. */
		if ((flags & ~VIRTIO_BLK_FLAG_UNMAP) || (!wz && (flags & VIRTIO_BLK_FLAG_UNMAP)))
			return VIRTIO_BLK_S_UNSUPP;
		if (num > max_sectors || !range_ok(lim, sector, num))
			return VIRTIO_BLK_S_IOERR;
		if (!(flags & VIRTIO_BLK_FLAG_UNMAP))
			req->unmap = false;
		if (num == 0)
			continue;
		req->ranges[req->nr_ranges++] = (struct blk_range){
			.offset = sector * BLK_SECTOR, .len = (uint64_t)num * BLK_SECTOR,
		};
	}
	return 0;
}

int vblk_parse(const struct vblk_limits *lim, const struct virtq_elem *elem,
	       struct vblk_request *req)
{
	const struct iovec *last;
	uint8_t hdr[VBLK_HDR_LEN];
	uint32_t type;
	uint64_t sector;

	req->status = NULL;
	req->data_cnt = 0;
	req->data_len = 0;
	req->nr_ranges = 0;
	req->unmap = false;
	req->used_len = 1;
	/* Without a writable byte there is no way to answer, without a
	 * header no request: the chain is broken, not the request. */
	if (elem->in_len == 0 || elem->in_num == 0 || elem->out_len < VBLK_HDR_LEN)
		return -EINVAL;
	last = &elem->iov[elem->out_num + elem->in_num - 1];
	if (last->iov_len == 0)
		return -EINVAL;
	req->status = (uint8_t *)last->iov_base + last->iov_len - 1;
	iov_to_buf(elem->iov, elem->out_num, 0, hdr, sizeof(hdr));
	memcpy(&type, hdr, 4);
	memcpy(&sector, hdr + 8, 8);
	req->type = le32toh(type);
	req->sector = le64toh(sector);

	switch (req->type) {
	case VIRTIO_BLK_T_IN:
	case VIRTIO_BLK_T_OUT:
		return parse_rw(lim, elem, req);
	case VIRTIO_BLK_T_FLUSH:
		return lim->flush ? 0 : VIRTIO_BLK_S_UNSUPP;
	case VIRTIO_BLK_T_GET_ID:
		return parse_get_id(elem, req);
	case VIRTIO_BLK_T_DISCARD:
	case VIRTIO_BLK_T_WRITE_ZEROES:
		return parse_ranges(lim, elem, req);
	default:
		return VIRTIO_BLK_S_UNSUPP;
	}
}

uint32_t vblk_write_id(const struct vblk_request *req, const char *serial)
{
	char id[VIRTIO_BLK_ID_BYTES] = { 0 };
	size_t len = strnlen(serial, VIRTIO_BLK_ID_BYTES);

	/* Exactly 20 bytes: no terminating NUL when the serial fills them. */
	memcpy(id, serial, len);
	return (uint32_t)iov_from_buf(req->data, req->data_cnt, 0, id,
				      req->data_len < sizeof(id) ? req->data_len : sizeof(id));
}
