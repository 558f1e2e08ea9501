/* libFuzzer target: the virtio PCI transport, with one of sardine's
 * virtio devices behind it, in the hands of a hostile guest driver.
 *
 * Each input builds a small VM (4 MiB of RAM, the PCI host, the MSI
 * router) and one device on its I/O threads, as sardine runs it: rng or
 * balloon (first byte below 0x80, odd: balloon), or (0x80 and up, modulo
 * 6) blk on a raw image, blk on a read-only one, 9p passthrough, 9p mapped
 * on a read-only share, console, net.  The disk images, the share and the
 * console's and net backend's far ends are the harness's, in a scratch
 * directory made once per process and removed at exit.  The interrupt
 * routes, irqfds and ioeventfds go to one real KVM VM (with an in-kernel
 * irqchip, no vCPUs) made once per process: /dev/kvm is needed, and each
 * input must leave that VM as it found it.  The input is then a program of
 * guest actions: configuration space accesses (through ECAM), BAR 0 reads
 * and writes (common configuration, ISR, device configuration,
 * notifications, MSI-X table and PBA), port notifications, stores into
 * guest RAM (rings and buffers), a canned "bring queue N up" sequence that
 * gets the fuzzer to running queues quickly, bytes from the outside (a
 * received frame for net, typed input for the console), and pauses that
 * let the I/O threads work.  The device is torn down at the end as at VM
 * exit, requests in flight or not.  Sanitizers and the invariants below
 * catch what goes wrong.  tests/fuzz/vpci_seeds.py writes the seeds. */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "arch/x86/layout.h"
#include "block/block.h"
#include "hw/pci.h"
#include "net/backend.h"
#include "virtio/devices.h"
#include "virtio/transport.h"
#include "virtio/virtio.h"
#include "vmm/config.h"
#include "vmm/console.h"
#include "vmm/event_loop.h"
#include "vmm/log.h"
#include "vmm/vm.h"

#include "scratch.h"

#define RAM (4u << 20)
#define BAR0 0xc0000000ULL
#define IO_BAR 0xc000
#define STATUS_NEEDS_RESET 0x40

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* What lives as long as the process: the KVM VM and the files behind the
 * devices. */
static struct {
	int vm_fd;
	char dir[64];
	char share[96];
	struct blk_image disk[2]; /* read-write, read-only */
	int null_fd;
	struct vm_config cfg;
} fx = { .vm_fd = -1 };

/* The 9p share starts each input empty and as the harness made it, so
 * that what one input did cannot pile up over a campaign. */
static void reset_share(void)
{
	chmod(fx.share, 0755);
	scratch_empty(fx.share);
}

static void remove_scratch(void)
{
	for (unsigned int i = 0; i < 2; i++)
		if (fx.disk[i].path)
			blk_image_close(&fx.disk[i]);
	if (fx.dir[0])
		scratch_remove(fx.dir);
}

static void open_disk(unsigned int i, bool readonly)
{
	char path[128], err[256];
	struct disk_config dc = { .path = path, .readonly = readonly, .cache = DISK_CACHE_WRITEBACK,
				  .queues = 2, .format_raw = true };
	int fd;

	snprintf(path, sizeof(path), "%s/disk%u.img", fx.dir, i);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert(fd >= 0 && ftruncate(fd, 1 << 20) == 0);
	close(fd);
	assert(blk_image_open(&fx.disk[i], &dc, err, sizeof(err)) == 0);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);

	(void)argc, (void)argv;
	assert(kvm >= 0);
	fx.vm_fd = ioctl(kvm, KVM_CREATE_VM, 0);
	assert(fx.vm_fd >= 0);
	assert(ioctl(fx.vm_fd, KVM_CREATE_IRQCHIP, 0) == 0);
	close(kvm);
	log_threshold = LOG_ERROR;
	snprintf(fx.dir, sizeof(fx.dir), "/tmp/fuzz_vpci.XXXXXX");
	assert(mkdtemp(fx.dir));
	atexit(remove_scratch);
	snprintf(fx.share, sizeof(fx.share), "%s/share", fx.dir);
	assert(mkdir(fx.share, 0755) == 0);
	open_disk(0, false);
	open_disk(1, true);
	fx.null_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
	assert(fx.null_fd >= 0);
	config_init_defaults(&fx.cfg);
	snprintf(fx.cfg.name, sizeof(fx.cfg.name), "fuzz");
	fx.cfg.nr_cpus = 2;
	fx.cfg.nr_shares = 1;
	return 0;
}

/* A network backend whose far end is the harness's: frames the guest
 * sends are read and dropped; the program can send it frames. */
static ssize_t fb_recv(struct net_backend *b, unsigned int q, const struct iovec *iov, int n)
{
	struct msghdr m = { .msg_iov = (struct iovec *)iov, .msg_iovlen = (size_t)n };
	ssize_t r = recvmsg(b->fds[q], &m, MSG_DONTWAIT | MSG_TRUNC);

	return r < 0 ? -errno : r;
}

static ssize_t fb_send(struct net_backend *b, unsigned int q, const struct iovec *iov, int n)
{
	ssize_t r = writev(b->fds[q], iov, n);

	return r < 0 ? -errno : r;
}

static int fb_set_offloads(struct net_backend *b, unsigned int offloads)
{
	return (offloads & ~b->caps) ? -EINVAL : 0;
}

static int fb_enable_queue(struct net_backend *b, unsigned int q, bool on)
{
	b->detached[q] = !on;
	return 0;
}

static void fb_destroy(struct net_backend *b)
{
	(void)b;
}

static const struct net_backend_ops fuzz_backend_ops = {
	.recv = fb_recv, .send = fb_send, .set_offloads = fb_set_offloads,
	.enable_queue = fb_enable_queue, .destroy = fb_destroy,
};

/* One device's world: the device and, for console and net, the far end
 * of its backend (a datagram socket pair per queue pair). */
struct fixture {
	struct virtio_dev *dev;
	struct console console;
	struct event_loop loop; /* the console's input, as sardine's main loop */
	bool has_console;
	struct net_backend backend;
	int far[2]; /* the harness's ends, -1 when unused */
};

static int socket_pair(int *near, int *far)
{
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv))
		return -1;
	*near = sv[0];
	*far = sv[1];
	return 0;
}

static int make_net(struct vm *vm, struct fixture *f)
{
	struct net_config nc = { .fd = -1, .queues = 2 };
	struct net_backend *b = &f->backend;

	*b = (struct net_backend){ .ops = &fuzz_backend_ops, .nr_queues = 2, .caps = 0x7f,
				   .mtu = 1500, .hdr_len = 12, .multi_queue = true };
	snprintf(b->ifname, sizeof(b->ifname), "fuzz0");
	for (unsigned int q = 0; q < 2; q++)
		assert(socket_pair(&b->fds[q], &f->far[q]) == 0);
	return virtio_net_create(vm, &nc, b, 0, &f->dev);
}

static int make_console(struct vm *vm, struct fixture *f)
{
	int in;

	assert(socket_pair(&in, &f->far[0]) == 0);
	assert(event_loop_init(&f->loop, "fuzz-console") == 0);
	assert(console_init(&f->console, in, fx.null_fd, &f->loop) == 0);
	assert(event_loop_start_thread(&f->loop, "fuzz-console") == 0);
	f->has_console = true;
	return virtio_console_create(vm, &f->console, &f->dev);
}

static void create_device(struct vm *vm, uint8_t kind, struct fixture *f)
{
	struct balloon_config bc = { .enabled = true, .deflate_on_oom = true,
				     .free_page_reporting = true, .size = 1 << 20 };
	struct disk_config dc = { .queues = 2 };
	struct share_config sc = { .path = fx.share, .tag = "fuzz" };
	int ret;

	f->far[0] = f->far[1] = -1;
	if (kind < 0x80) {
		ret = kind & 1 ? virtio_balloon_create(vm, &bc, &f->dev) : virtio_rng_create(vm, &f->dev);
	} else {
		switch ((kind - 0x80) % 6) {
		case 0:
		case 1:
			dc.path = fx.disk[kind & 1].path;
			ret = virtio_blk_create(vm, 0, &dc, &fx.disk[kind & 1], &f->dev);
			break;
		case 2:
			reset_share();
			ret = virtio_9p_create(vm, &sc, 0, &f->dev);
			break;
		case 3:
			reset_share();
			sc.readonly = true;
			sc.security = SHARE_MAPPED;
			ret = virtio_9p_create(vm, &sc, 0, &f->dev);
			break;
		case 4:
			ret = make_console(vm, f);
			break;
		default:
			ret = make_net(vm, f);
			break;
		}
	}
	assert(ret == 0);
	if (virtio_dev_attach(f->dev)) {
		f->dev->ops->destroy(f->dev);
		f->dev = NULL;
	}
}

static void destroy_device(struct fixture *f)
{
	if (f->dev) {
		f->dev->transport->ops->destroy(f->dev);
		f->dev->ops->destroy(f->dev);
	}
	if (f->has_console) { /* the order of sardine's exit */
		event_loop_stop(&f->loop);
		console_destroy(&f->console);
		event_loop_destroy(&f->loop);
		close(f->console.in_fd);
	}
	for (unsigned int q = 0; f->backend.ops && q < f->backend.nr_queues; q++)
		close(f->backend.fds[q]);
	for (unsigned int i = 0; i < 2; i++)
		if (f->far[i] >= 0)
			close(f->far[i]);
}

/* Bytes from outside the guest: a frame for net's receive queue q, typed
 * input for the console. */
static void from_outside(const struct fixture *f, unsigned int q, const uint8_t *p, size_t len)
{
	int fd = f->far[q & 1] >= 0 ? f->far[q & 1] : f->far[0];

	if (fd >= 0 && len && write(fd, p, len) < 0)
		return; /* full: the device is not taking it; drop, as a wire would */
}

struct input {
	const uint8_t *p;
	size_t left;
};

static uint64_t take(struct input *in, unsigned int n)
{
	uint64_t v = 0;

	for (unsigned int i = 0; i < n; i++) {
		v |= (uint64_t)(in->left ? *in->p : 0) << (8 * i);
		if (in->left) {
			in->p++;
			in->left--;
		}
	}
	return v;
}

static uint64_t ecam_addr(const struct pci_device *dev, uint32_t reg)
{
	return X86_PCI_ECAM_BASE + ((uint64_t)dev->slot << 15) + reg;
}

static void cfg_write(struct vm *vm, const struct pci_device *dev, uint32_t reg, uint32_t v,
		      unsigned int len)
{
	uint8_t b[4];

	bus_put(b, len, v);
	bus_write(&vm->mmio, ecam_addr(dev, reg), b, len);
}

static void bar_write(struct vm *vm, uint64_t off, uint64_t v, unsigned int len)
{
	uint8_t b[8];

	bus_put(b, len, v);
	bus_write(&vm->mmio, BAR0 + off, b, len);
}

static uint64_t bar_read(struct vm *vm, uint64_t off, unsigned int len)
{
	uint8_t b[8] = { 0 };

	bus_read(&vm->mmio, BAR0 + off, b, len);
	return bus_get(b, len);
}

/* What a driver does to start the queues in `mask` (of the first eight),
 * each with `size` entries and its rings at fixed places. */
static void bring_up(struct vm *vm, uint8_t mask, uint16_t size)
{
	bar_write(vm, 0x14, 1 | 2, 1);           /* ACKNOWLEDGE | DRIVER */
	bar_write(vm, 0x08, 1, 4);               /* driver features, high word */
	bar_write(vm, 0x0c, 1, 4);               /* VERSION_1 */
	bar_write(vm, 0x14, 1 | 2 | 8, 1);       /* FEATURES_OK */
	for (unsigned int q = 0; q < 8; q++) {
		uint64_t base = 0x100000 + (uint64_t)q * 0x10000;

		if (!(mask & (1u << q)))
			continue;
		bar_write(vm, 0x16, q, 2);
		bar_write(vm, 0x18, size, 2);
		bar_write(vm, 0x1a, q + 1, 2);    /* MSI-X vector */
		bar_write(vm, 0x20, base, 4);
		bar_write(vm, 0x28, base + 0x1000, 4);
		bar_write(vm, 0x30, base + 0x2000, 4);
		bar_write(vm, 0x1c, 1, 2);
	}
	bar_write(vm, 0x14, 1 | 2 | 4 | 8, 1);   /* DRIVER_OK */
}

static const unsigned int lens[] = { 1, 2, 4, 8 };

static void run_program(struct vm *vm, const struct pci_device *dev, const struct fixture *f,
			struct input *in)
{
	while (in->left) {
		uint8_t op = (uint8_t)take(in, 1);
		unsigned int len = lens[(op >> 4) & 3];

		switch (op & 7) {
		case 0: /* configuration space write */
			cfg_write(vm, dev, (uint32_t)take(in, 1) & ~(len > 4 ? 3u : len - 1),
				  (uint32_t)take(in, 4), len > 4 ? 4 : len);
			break;
		case 1: { /* configuration space read */
			uint8_t b[4];

			bus_read(&vm->mmio, ecam_addr(dev, (uint32_t)take(in, 1) & ~3u), b, 4);
			break;
		}
		case 2: /* BAR 0 write */
			bar_write(vm, take(in, 2) & 0x7fff, take(in, len), len);
			break;
		case 3: /* BAR 0 read (reading the ISR acknowledges it) */
			(void)bar_read(vm, take(in, 2) & 0x7fff, len);
			break;
		case 4: { /* port notification */
			uint8_t b[2];

			bus_put(b, 2, take(in, 2));
			bus_write(&vm->pio, IO_BAR, b, 2);
			break;
		}
		case 5: { /* store into guest RAM */
			uint64_t gpa = take(in, 3) % (RAM - 8), v = take(in, 8);

			memcpy(gm_ptr(&vm->mem, gpa, 8), &v, 8);
			break;
		}
		case 6:
			bring_up(vm, (uint8_t)take(in, 1), (uint16_t)(1u << (take(in, 1) % 10)));
			break;
		default:
			if (op & 8) { /* bytes from outside: a length, then as many */
				uint8_t q = (uint8_t)take(in, 1);
				size_t len = (size_t)take(in, 2) % 2048;

				if (len > in->left)
					len = in->left;
				from_outside(f, q, in->p, len);
				in->p += len;
				in->left -= len;
			} else { /* let the I/O threads run */
				usleep(200);
			}
			break;
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct guest_mem_layout l = { .ram_size = RAM, .hole_start = X86_MMIO_HOLE_START,
				      .hole_end = X86_4G };
	struct input in = { data, size };
	struct fixture f = { 0 };
	uint64_t status;
	struct vm *vm;
	struct pci_device *dev;

	if (size < 1)
		return 0;
	vm = calloc(1, sizeof(*vm));
	assert(vm);
	vm->fd = fx.vm_fd;
	vm->cfg = &fx.cfg;
	vm->exit_fd = -1;
	assert(bus_init(&vm->pio, "pio") == 0 && bus_init(&vm->mmio, "mmio") == 0);
	assert(guest_mem_init(&vm->mem, &l) == 0);
	assert(irq_router_init(&vm->irq) == 0);
	assert(pci_host_create(&vm->pci, vm, X86_4G + (1ULL << 30), 1ULL << 30) == 0);
	create_device(vm, (uint8_t)take(&in, 1), &f);
	assert(f.dev);
	dev = NULL;
	for (unsigned int i = 0; !dev && i < PCI_MAX_SLOTS; i++)
		if (vm->pci->slot[i] && vm->pci->slot[i] != &vm->pci->bridge)
			dev = vm->pci->slot[i];
	assert(dev);
	/* The firmware's part: BARs placed, decoding and bus mastering on. */
	cfg_write(vm, dev, 0x10, (uint32_t)BAR0, 4);
	cfg_write(vm, dev, 0x18, IO_BAR, 4);
	cfg_write(vm, dev, 0x04, 7, 2);
	run_program(vm, dev, &f, &in);
	/* Whatever the guest did, the device answers and reset works (with
	 * its BARs back where the firmware put them: undecoded space reads as
	 * all ones, as on real PCI). */
	cfg_write(vm, dev, 0x10, (uint32_t)BAR0, 4);
	cfg_write(vm, dev, 0x04, 7, 2);
	bar_write(vm, 0x14, 0, 1);
	status = bar_read(vm, 0x14, 1);
	if (status) {
		fprintf(stderr, "fuzz_vpci: device status %#x after a reset\n", (unsigned int)status);
		abort();
	}
	destroy_device(&f);
	pci_host_destroy(vm->pci);
	irq_router_destroy(&vm->irq);
	guest_mem_destroy(&vm->mem);
	bus_destroy(&vm->pio);
	bus_destroy(&vm->mmio);
	free(vm);
	return 0;
}
