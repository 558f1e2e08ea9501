/* A deliberately hostile virtio driver.  It finds sardine's virtio-rng on
 * the PCI bus and, case by case, hands it broken rings: buffers outside
 * RAM, huge lengths, descriptor loops, rings outside RAM, an available
 * index far ahead, bad heads, nested and malformed indirect tables.  After
 * each case the device must report NEEDS_RESET (sardine keeps running);
 * the driver resets it and goes on.  At the end a well-formed request must
 * be served.  Prints CASE name OK|FAIL lines and ALL-DONE. */
#include "tiny_c.h"

#define VIRTIO_VENDOR 0x1af4
#define VIRTIO_RNG_ID 0x1044
#define STATUS_ACK 1
#define STATUS_DRIVER 2
#define STATUS_DRIVER_OK 4
#define STATUS_FEATURES_OK 8
#define STATUS_NEEDS_RESET 0x40
#define F_NEXT 1
#define F_WRITE 2
#define F_INDIRECT 4
#define QSIZE 8

/* Guest RAM we use: rings and buffers above the program. */
#define DESC 0x200000u
#define AVAIL 0x201000u
#define USED 0x202000u
#define INDIRECT 0x203000u
#define BUF 0x210000u

struct desc {
	u64 addr;
	u32 len;
	u16 flags;
	u16 next;
};

static u32 common, notify, notify_mult;

static u32 find_cap(u32 dev, u8 type, u32 bar_base, u32 *extra)
{
	u32 ptr = pci_read32(dev, 0x34) & 0xff;

	for (int guard = 0; ptr && guard < 48; guard++) {
		u32 hdr = pci_read32(dev, ptr);

		/* BAR 0's structures: the memory-mapped ones (the notify
		 * structure in the port I/O BAR comes first). */
		if ((hdr & 0xff) == 0x09 && ((hdr >> 24) & 0xff) == type &&
		    (pci_read32(dev, ptr + 4) & 0xff) == 0) {
			if (extra)
				*extra = pci_read32(dev, ptr + 16);
			return bar_base + pci_read32(dev, ptr + 8);
		}
		ptr = (hdr >> 8) & 0xfc;
	}
	return 0;
}

static int find_device(void)
{
	for (u32 dev = 1; dev < 32; dev++) {
		u32 id = pci_read32(dev, 0);
		u32 bar;

		if ((id & 0xffff) != VIRTIO_VENDOR || (id >> 16) != VIRTIO_RNG_ID)
			continue;
		bar = pci_read32(dev, 0x10) & ~0xfu;
		pci_write32(dev, 0x04, pci_read32(dev, 0x04) | 0x6); /* memory, bus master */
		common = find_cap(dev, 1, bar, 0);
		notify = find_cap(dev, 2, bar, &notify_mult);
		return common && notify;
	}
	return 0;
}

static u8 status(void) { return mmio_r8(common + 0x14); }
static void set_status(u8 s) { mmio_w8(common + 0x14, s); }

/* Reset, negotiate VERSION_1 (plus INDIRECT_DESC), program queue 0. */
static int setup(u32 desc, u32 avail, u32 used)
{
	int guard = 0;

	set_status(0);
	while (status() != 0)
		if (++guard > 1000000)
			return 0;
	set_status(STATUS_ACK | STATUS_DRIVER);
	mmio_w32(common + 0x08, 0);
	mmio_w32(common + 0x0c, 1u << 28); /* INDIRECT_DESC */
	mmio_w32(common + 0x08, 1);
	mmio_w32(common + 0x0c, 1);        /* VERSION_1 */
	set_status(STATUS_ACK | STATUS_DRIVER | STATUS_FEATURES_OK);
	if (!(status() & STATUS_FEATURES_OK))
		return 0;
	mmio_w16(common + 0x16, 0);
	mmio_w16(common + 0x18, QSIZE);
	mmio_w32(common + 0x20, desc);
	mmio_w32(common + 0x24, 0);
	mmio_w32(common + 0x28, avail);
	mmio_w32(common + 0x2c, 0);
	mmio_w32(common + 0x30, used);
	mmio_w32(common + 0x34, 0);
	mmio_w16(common + 0x1c, 1);
	return 1;
}

static void go(void)
{
	set_status(STATUS_ACK | STATUS_DRIVER | STATUS_FEATURES_OK | STATUS_DRIVER_OK);
	mmio_w16(notify + mmio_r16(common + 0x1e) * notify_mult, 0);
}

static void clear_rings(void)
{
	memset_t((void *)DESC, 0, 0x4000);
	memset_t((void *)BUF, 0, 4096);
}

static void post(u16 head, u16 idx)
{
	volatile u16 *avail = (volatile u16 *)AVAIL;

	avail[2 + (idx - 1) % QSIZE] = head;
	avail[1] = idx;
}

static int wait_needs_reset(void)
{
	for (u32 i = 0; i < 20000000; i++)
		if (status() & STATUS_NEEDS_RESET)
			return 1;
	return 0;
}

static int failures;

static void report(const char *name, int ok)
{
	puts_com1("CASE ");
	puts_com1(name);
	puts_com1(ok ? " OK\n" : " FAIL\n");
	failures += !ok;
}

/* One broken ring, set up by fn; the device must end in NEEDS_RESET. */
static void hostile_case(const char *name, void (*fn)(struct desc *d), u32 desc, u32 avail,
			 u32 used)
{
	clear_rings();
	if (!setup(desc, avail, used)) {
		report(name, 0);
		return;
	}
	fn((struct desc *)DESC);
	go();
	report(name, wait_needs_reset());
}

static void outside_ram(struct desc *d)
{
	d[0] = (struct desc){ 0xf0000000u, 64, F_WRITE, 0 };
	post(0, 1);
}

static void huge_length(struct desc *d)
{
	d[0] = (struct desc){ BUF, 0xffffffffu, F_WRITE, 0 };
	post(0, 1);
}

static void wrapping_address(struct desc *d)
{
	d[0] = (struct desc){ 0xfffffffffffff000ull, 0x2000, F_WRITE, 0 };
	post(0, 1);
}

static void loop(struct desc *d)
{
	d[0] = (struct desc){ BUF, 16, F_WRITE | F_NEXT, 1 };
	d[1] = (struct desc){ BUF + 16, 16, F_WRITE | F_NEXT, 0 };
	post(0, 1);
}

static void bad_next(struct desc *d)
{
	d[0] = (struct desc){ BUF, 16, F_WRITE | F_NEXT, 200 };
	post(0, 1);
}

static void bad_head(struct desc *d)
{
	(void)d;
	post(QSIZE + 3, 1);
}

static void avail_far_ahead(struct desc *d)
{
	d[0] = (struct desc){ BUF, 16, F_WRITE, 0 };
	post(0, 1000);
}

static void nested_indirect(struct desc *d)
{
	struct desc *t = (struct desc *)INDIRECT;

	t[0] = (struct desc){ INDIRECT, 32, F_INDIRECT, 0 };
	d[0] = (struct desc){ INDIRECT, 16, F_INDIRECT, 0 };
	post(0, 1);
}

static void indirect_bad_len(struct desc *d)
{
	d[0] = (struct desc){ INDIRECT, 17, F_INDIRECT, 0 };
	post(0, 1);
}

static void indirect_loop(struct desc *d)
{
	struct desc *t = (struct desc *)INDIRECT;

	t[0] = (struct desc){ BUF, 16, F_WRITE | F_NEXT, 1 };
	t[1] = (struct desc){ BUF + 16, 16, F_WRITE | F_NEXT, 0 };
	d[0] = (struct desc){ INDIRECT, 32, F_INDIRECT, 0 };
	post(0, 1);
}

static void nothing(struct desc *d)
{
	(void)d;
}

/* Rings that are not in RAM at all: refused when the driver starts. */
static void rings_outside_ram(void)
{
	clear_rings();
	if (!setup(0xfffff000u, AVAIL, USED)) {
		report("rings_outside_ram", 0);
		return;
	}
	go();
	report("rings_outside_ram", wait_needs_reset());
}

/* A driver that clears DRIVER_OK without a reset and then resizes the
 * running queue to 0: the status bit stays, the size register refuses
 * the write, and a request is still served with the ring as it was. */
static void status_bits_stick(void)
{
	volatile u16 *used = (volatile u16 *)USED;
	struct desc *d = (struct desc *)DESC;
	int ok;

	clear_rings();
	if (!setup(DESC, AVAIL, USED)) {
		report("status_bits_stick", 0);
		return;
	}
	set_status(STATUS_ACK | STATUS_DRIVER | STATUS_FEATURES_OK | STATUS_DRIVER_OK);
	set_status(STATUS_ACK | STATUS_DRIVER | STATUS_FEATURES_OK);
	ok = (status() & STATUS_DRIVER_OK) != 0;
	mmio_w16(common + 0x16, 0);
	mmio_w16(common + 0x18, 0);
	ok &= mmio_r16(common + 0x18) == QSIZE;
	d[0] = (struct desc){ BUF, 64, F_WRITE, 0 };
	post(0, 1);
	mmio_w16(notify + mmio_r16(common + 0x1e) * notify_mult, 0);
	for (u32 i = 0; i < 20000000 && used[1] != 1; i++)
		;
	report("status_bits_stick", ok && used[1] == 1 && !(status() & STATUS_NEEDS_RESET));
}

/* After all that, a proper request must be served. */
static void good_request(void)
{
	volatile u16 *used = (volatile u16 *)USED;
	struct desc *d = (struct desc *)DESC;
	u8 *buf = (u8 *)BUF;
	int nonzero = 0;

	clear_rings();
	if (!setup(DESC, AVAIL, USED)) {
		report("good_request", 0);
		return;
	}
	d[0] = (struct desc){ BUF, 64, F_WRITE, 0 };
	post(0, 1);
	go();
	for (u32 i = 0; i < 20000000 && used[1] != 1; i++)
		;
	for (int i = 0; i < 64; i++)
		nonzero |= buf[i];
	report("good_request", used[1] == 1 && !(status() & STATUS_NEEDS_RESET) &&
				       *(volatile u32 *)(USED + 8) == 64 && nonzero);
}

int main(void)
{
	if (!find_device()) {
		puts_com1("no virtio-rng found\n");
		return 1;
	}
	hostile_case("buffer_outside_ram", outside_ram, DESC, AVAIL, USED);
	hostile_case("huge_length", huge_length, DESC, AVAIL, USED);
	hostile_case("wrapping_address", wrapping_address, DESC, AVAIL, USED);
	hostile_case("descriptor_loop", loop, DESC, AVAIL, USED);
	hostile_case("next_out_of_range", bad_next, DESC, AVAIL, USED);
	hostile_case("head_out_of_range", bad_head, DESC, AVAIL, USED);
	hostile_case("avail_index_far_ahead", avail_far_ahead, DESC, AVAIL, USED);
	hostile_case("nested_indirect", nested_indirect, DESC, AVAIL, USED);
	hostile_case("indirect_bad_length", indirect_bad_len, DESC, AVAIL, USED);
	hostile_case("indirect_loop", indirect_loop, DESC, AVAIL, USED);
	hostile_case("misaligned_rings", nothing, DESC + 8, AVAIL + 1, USED + 2);
	rings_outside_ram();
	status_bits_stick();
	good_request();
	puts_com1(failures ? "SOME-FAILED\n" : "ALL-DONE\n");
	return 0;
}
