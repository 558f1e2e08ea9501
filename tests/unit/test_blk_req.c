/* virtio-blk request validation over a fake guest memory: what a hostile
 * or buggy driver may put in a chain, and what the device answers. */
#include <endian.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "virtio/blk_req.h"
#include "virtio/queue.h"
#include "vmm/guest_mem.h"

#define HDR 0x1000
#define STATUS 0x2000
#define DATA 0x10000
#define CAPACITY 2048 /* sectors: 1 MiB */

static struct guest_mem gm;
static struct virtq_elem elem;
static struct vblk_request req;
static struct vblk_limits lim;

struct seg {
	uint64_t gpa;
	uint32_t len;
	bool writable;
};

static int setup(void **state)
{
	struct guest_mem_layout l = { .ram_size = 16 << 20, .hole_start = 1ULL << 40,
				      .hole_end = 1ULL << 40 };

	(void)state;
	lim = (struct vblk_limits){
		.capacity = CAPACITY, .flush = true, .discard = true, .write_zeroes = true,
		.seg_max = 254, .size_max = 1 << 20,
		.max_discard_sectors = 1024, .max_discard_seg = 4,
		.max_write_zeroes_sectors = 1024, .max_write_zeroes_seg = 4,
	};
	return guest_mem_init(&gm, &l);
}

static int teardown(void **state)
{
	(void)state;
	guest_mem_destroy(&gm);
	return 0;
}

/* What virtq_pop makes of a chain of these buffers. */
static void build(const struct seg *s, unsigned int n)
{
	unsigned int cnt = 0;

	elem.out_num = elem.in_num = 0;
	elem.out_len = elem.in_len = 0;
	for (unsigned int i = 0; i < n; i++) {
		assert_int_equal(gm_to_iov(&gm, s[i].gpa, s[i].len, elem.iov, VIRTQ_MAX_SEGS, &cnt), 0);
		if (s[i].writable) {
			elem.in_num = cnt - elem.out_num;
			elem.in_len += s[i].len;
		} else {
			elem.out_num = cnt;
			elem.out_len += s[i].len;
		}
	}
}

static void header(uint64_t gpa, uint32_t type, uint64_t sector)
{
	uint32_t t = htole32(type), prio = 0;
	uint64_t s = htole64(sector);

	assert_int_equal(gm_write(&gm, gpa, &t, 4), 0);
	assert_int_equal(gm_write(&gm, gpa + 4, &prio, 4), 0);
	assert_int_equal(gm_write(&gm, gpa + 8, &s, 8), 0);
}

static int parse_simple(uint32_t type, uint64_t sector, uint32_t len, bool data_writable)
{
	struct seg s[] = {
		{ HDR, 16, false }, { DATA, len, data_writable }, { STATUS, 1, true },
	};

	header(HDR, type, sector);
	build(s, len ? 3 : 1);
	if (!len) {
		struct seg t[] = { { HDR, 16, false }, { STATUS, 1, true } };

		build(t, 2);
	}
	return vblk_parse(&lim, &elem, &req);
}

static void read_is_parsed(void **state)
{
	(void)state;
	assert_int_equal(parse_simple(VIRTIO_BLK_T_IN, 8, 4096, true), 0);
	assert_int_equal(req.type, VIRTIO_BLK_T_IN);
	assert_int_equal(req.sector, 8);
	assert_int_equal(req.data_cnt, 1);
	assert_int_equal(req.data_len, 4096);
	assert_ptr_equal(req.data[0].iov_base, gm_ptr(&gm, DATA, 1));
	assert_ptr_equal(req.status, gm_ptr(&gm, STATUS, 1));
	assert_int_equal(req.used_len, 4097);
}

static void write_with_any_layout(void **state)
{
	/* Header and data in one descriptor, header split over two. */
	struct seg one[] = { { HDR, 16 + 1024, false }, { STATUS, 1, true } };
	struct seg split[] = { { HDR, 8, false }, { HDR + 8, 8 + 512, false }, { STATUS, 1, true } };

	(void)state;
	header(HDR, VIRTIO_BLK_T_OUT, 100);
	build(one, 2);
	assert_int_equal(vblk_parse(&lim, &elem, &req), 0);
	assert_int_equal(req.data_len, 1024);
	assert_int_equal(req.data_cnt, 1);
	assert_ptr_equal(req.data[0].iov_base, gm_ptr(&gm, HDR + 16, 1));
	assert_int_equal(req.used_len, 1);

	build(split, 3);
	assert_int_equal(vblk_parse(&lim, &elem, &req), 0);
	assert_int_equal(req.sector, 100);
	assert_int_equal(req.data_len, 512);
	assert_ptr_equal(req.data[0].iov_base, gm_ptr(&gm, HDR + 16, 1));
}

static void status_shares_the_data_descriptor(void **state)
{
	struct seg s[] = { { HDR, 16, false }, { DATA, 4097, true } };

	(void)state;
	header(HDR, VIRTIO_BLK_T_IN, 0);
	build(s, 2);
	assert_int_equal(vblk_parse(&lim, &elem, &req), 0);
	assert_int_equal(req.data_len, 4096);
	assert_ptr_equal(req.status, gm_ptr(&gm, DATA + 4096, 1));
}

static void broken_chains_need_reset(void **state)
{
	struct seg no_status[] = { { HDR, 16, false }, { DATA, 512, false } };
	struct seg short_hdr[] = { { HDR, 8, false }, { STATUS, 1, true } };
	struct seg only_writable[] = { { STATUS, 1, true } };

	(void)state;
	header(HDR, VIRTIO_BLK_T_OUT, 0);
	build(no_status, 2);
	assert_int_equal(vblk_parse(&lim, &elem, &req), -EINVAL);
	build(short_hdr, 2);
	assert_int_equal(vblk_parse(&lim, &elem, &req), -EINVAL);
	build(only_writable, 1);
	assert_int_equal(vblk_parse(&lim, &elem, &req), -EINVAL);
}

static void sector_ranges_are_checked(void **state)
{
	(void)state;
	assert_int_equal(parse_simple(VIRTIO_BLK_T_IN, CAPACITY - 1, 512, true), 0);
	assert_int_equal(parse_simple(VIRTIO_BLK_T_IN, CAPACITY - 1, 1024, true), VIRTIO_BLK_S_IOERR);
	assert_int_equal(parse_simple(VIRTIO_BLK_T_IN, CAPACITY, 512, true), VIRTIO_BLK_S_IOERR);
	assert_int_equal(parse_simple(VIRTIO_BLK_T_OUT, UINT64_MAX, 512, false), VIRTIO_BLK_S_IOERR);
	assert_int_equal(parse_simple(VIRTIO_BLK_T_OUT, UINT64_MAX / 512 + 1, 512, false),
			 VIRTIO_BLK_S_IOERR);
	/* Zero-length transfers at the very end are fine (and do nothing). */
	assert_int_equal(parse_simple(VIRTIO_BLK_T_IN, CAPACITY, 0, true), 0);
	assert_int_equal(req.data_len, 0);
}

static void lengths_are_whole_sectors(void **state)
{
	(void)state;
	assert_int_equal(parse_simple(VIRTIO_BLK_T_IN, 0, 511, true), VIRTIO_BLK_S_IOERR);
	assert_int_equal(parse_simple(VIRTIO_BLK_T_OUT, 0, 513, false), VIRTIO_BLK_S_IOERR);
	assert_non_null(req.status); /* the error can be reported */
}

static void directions_are_checked(void **state)
{
	struct seg extra_in[] = { { HDR, 16, false }, { DATA, 512, false }, { STATUS, 2, true } };
	struct seg extra_out[] = { { HDR, 32, false }, { DATA, 512, true }, { STATUS, 1, true } };

	(void)state;
	header(HDR, VIRTIO_BLK_T_OUT, 0);
	build(extra_in, 3);
	assert_int_equal(vblk_parse(&lim, &elem, &req), VIRTIO_BLK_S_IOERR);
	header(HDR, VIRTIO_BLK_T_IN, 0);
	build(extra_out, 3);
	assert_int_equal(vblk_parse(&lim, &elem, &req), VIRTIO_BLK_S_IOERR);
}

static void readonly_refuses_writes(void **state)
{
	(void)state;
	lim.readonly = true;
	assert_int_equal(parse_simple(VIRTIO_BLK_T_OUT, 0, 512, false), VIRTIO_BLK_S_IOERR);
	assert_int_equal(parse_simple(VIRTIO_BLK_T_IN, 0, 512, true), 0);
	lim.readonly = false;
}

static void unknown_and_unnegotiated_types(void **state)
{
	(void)state;
	assert_int_equal(parse_simple(2 /* SCSI */, 0, 0, true), VIRTIO_BLK_S_UNSUPP);
	assert_int_equal(parse_simple(0xdeadbeef, 0, 0, true), VIRTIO_BLK_S_UNSUPP);
	assert_int_equal(parse_simple(VIRTIO_BLK_T_FLUSH, 0, 0, true), 0);
	lim.flush = false;
	assert_int_equal(parse_simple(VIRTIO_BLK_T_FLUSH, 0, 0, true), VIRTIO_BLK_S_UNSUPP);
	lim.flush = true;
}

static void segment_count_and_size_limits(void **state)
{
	static struct seg s[300];
	unsigned int n = 0;

	(void)state;
	header(HDR, VIRTIO_BLK_T_IN, 0);
	s[n++] = (struct seg){ HDR, 16, false };
	for (unsigned int i = 0; i < 255; i++) /* apart, so they do not merge */
		s[n++] = (struct seg){ DATA + i * 1024, 512, true };
	s[n++] = (struct seg){ STATUS, 1, true };
	build(s, n);
	assert_int_equal(vblk_parse(&lim, &elem, &req), VIRTIO_BLK_S_IOERR);
	s[255] = (struct seg){ STATUS, 1, true }; /* 254 data segments: fine */
	build(s, 256);
	assert_int_equal(vblk_parse(&lim, &elem, &req), 0);
	assert_int_equal(req.data_cnt, 254);

	lim.size_max = 4096;
	assert_int_equal(parse_simple(VIRTIO_BLK_T_IN, 0, 8192, true), VIRTIO_BLK_S_IOERR);
	assert_int_equal(parse_simple(VIRTIO_BLK_T_IN, 0, 4096, true), 0);
	lim.size_max = 1 << 20;
}

static void put_range(uint64_t gpa, uint64_t sector, uint32_t num, uint32_t flags)
{
	uint64_t s = htole64(sector);
	uint32_t n = htole32(num), f = htole32(flags);

	gm_write(&gm, gpa, &s, 8);
	gm_write(&gm, gpa + 8, &n, 4);
	gm_write(&gm, gpa + 12, &f, 4);
}

static int parse_ranges(uint32_t type, unsigned int n)
{
	struct seg s[] = { { HDR, 16, false }, { DATA, n * 16, false }, { STATUS, 1, true } };

	header(HDR, type, 0);
	build(s, 3);
	return vblk_parse(&lim, &elem, &req);
}

static void discard_and_write_zeroes_ranges(void **state)
{
	(void)state;
	put_range(DATA, 8, 16, 0);
	put_range(DATA + 16, 100, 1, 0);
	assert_int_equal(parse_ranges(VIRTIO_BLK_T_DISCARD, 2), 0);
	assert_int_equal(req.nr_ranges, 2);
	assert_int_equal(req.ranges[0].offset, 8 * 512);
	assert_int_equal(req.ranges[0].len, 16 * 512);
	assert_int_equal(req.ranges[1].offset, 100 * 512);

	put_range(DATA, 8, 16, VIRTIO_BLK_FLAG_UNMAP);
	assert_int_equal(parse_ranges(VIRTIO_BLK_T_DISCARD, 1), VIRTIO_BLK_S_UNSUPP);
	assert_int_equal(parse_ranges(VIRTIO_BLK_T_WRITE_ZEROES, 1), 0);
	assert_true(req.unmap);
	put_range(DATA, 8, 16, 0);
	assert_int_equal(parse_ranges(VIRTIO_BLK_T_WRITE_ZEROES, 1), 0);
	assert_false(req.unmap);
	put_range(DATA, 8, 16, 4); /* a reserved flag */
	assert_int_equal(parse_ranges(VIRTIO_BLK_T_WRITE_ZEROES, 1), VIRTIO_BLK_S_UNSUPP);

	put_range(DATA, 8, 1025, 0); /* more than max_discard_sectors */
	assert_int_equal(parse_ranges(VIRTIO_BLK_T_DISCARD, 1), VIRTIO_BLK_S_IOERR);
	put_range(DATA, CAPACITY - 1, 2, 0);
	assert_int_equal(parse_ranges(VIRTIO_BLK_T_DISCARD, 1), VIRTIO_BLK_S_IOERR);
	put_range(DATA, UINT64_MAX - 1, 4, 0);
	assert_int_equal(parse_ranges(VIRTIO_BLK_T_DISCARD, 1), VIRTIO_BLK_S_IOERR);
	for (unsigned int i = 0; i < 5; i++)
		put_range(DATA + i * 16, i, 1, 0);
	assert_int_equal(parse_ranges(VIRTIO_BLK_T_DISCARD, 5), VIRTIO_BLK_S_IOERR); /* > max_seg */
	assert_int_equal(parse_ranges(VIRTIO_BLK_T_DISCARD, 4), 0);

	{
		struct seg odd[] = { { HDR, 16 + 20, false }, { STATUS, 1, true } };

		header(HDR, VIRTIO_BLK_T_DISCARD, 0);
		build(odd, 2);
		assert_int_equal(vblk_parse(&lim, &elem, &req), VIRTIO_BLK_S_IOERR);
	}
	lim.discard = false;
	assert_int_equal(parse_ranges(VIRTIO_BLK_T_DISCARD, 1), VIRTIO_BLK_S_UNSUPP);
	lim.discard = true;
	lim.readonly = true;
	assert_int_equal(parse_ranges(VIRTIO_BLK_T_WRITE_ZEROES, 1), VIRTIO_BLK_S_IOERR);
	lim.readonly = false;
}

static void get_id_returns_the_serial(void **state)
{
	uint8_t id[21];

	(void)state;
	memset(gm_ptr(&gm, DATA, 21), 0xff, 21);
	assert_int_equal(parse_simple(VIRTIO_BLK_T_GET_ID, 0, 20, true), 0);
	assert_int_equal(vblk_write_id(&req, "disk-7"), 20);
	gm_read(&gm, DATA, id, 21);
	assert_memory_equal(id, "disk-7\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 20);
	assert_int_equal(id[20], 0xff); /* nothing past the buffer */
	assert_int_equal(req.used_len, 21);

	assert_int_equal(parse_simple(VIRTIO_BLK_T_GET_ID, 0, 512, true), 0);
	assert_int_equal(vblk_write_id(&req, "ABCDEFGHIJKLMNOPQRST"), 20);
	gm_read(&gm, DATA, id, 21);
	assert_memory_equal(id, "ABCDEFGHIJKLMNOPQRST", 20);
}

/* The whole way a request comes: a split ring in guest memory, popped by
 * the virtqueue, then parsed. */
static void through_a_real_ring(void **state)
{
	struct virtqueue vq;
	struct vring_desc d[3] = {
		{ .addr = HDR, .len = 16, .flags = VRING_DESC_F_NEXT, .next = 1 },
		{ .addr = DATA, .len = 4096, .flags = VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, .next = 2 },
		{ .addr = STATUS, .len = 1, .flags = VRING_DESC_F_WRITE },
	};
	uint16_t avail[3] = { 0, 1, 0 }; /* flags, idx, ring[0] */

	(void)state;
	virtq_init(&vq, 16);
	vq.cfg.size = 16;
	vq.cfg.desc = 0x100000;
	vq.cfg.avail = 0x101000;
	vq.cfg.used = 0x102000;
	gm_write(&gm, vq.cfg.desc, d, sizeof(d));
	gm_write(&gm, vq.cfg.avail, avail, sizeof(avail));
	assert_int_equal(virtq_activate(&vq, &gm, false), 0);
	header(HDR, VIRTIO_BLK_T_IN, 64);
	assert_int_equal(virtq_pop(&vq, &elem), 1);
	assert_int_equal(vblk_parse(&lim, &elem, &req), 0);
	assert_int_equal(req.sector, 64);
	assert_int_equal(req.data_len, 4096);
	assert_ptr_equal(req.status, gm_ptr(&gm, STATUS, 1));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(read_is_parsed),
		cmocka_unit_test(write_with_any_layout),
		cmocka_unit_test(status_shares_the_data_descriptor),
		cmocka_unit_test(broken_chains_need_reset),
		cmocka_unit_test(sector_ranges_are_checked),
		cmocka_unit_test(lengths_are_whole_sectors),
		cmocka_unit_test(directions_are_checked),
		cmocka_unit_test(readonly_refuses_writes),
		cmocka_unit_test(unknown_and_unnegotiated_types),
		cmocka_unit_test(segment_count_and_size_limits),
		cmocka_unit_test(discard_and_write_zeroes_ranges),
		cmocka_unit_test(get_id_returns_the_serial),
		cmocka_unit_test(through_a_real_ring),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
