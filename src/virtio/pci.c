#define LOG_TAG "virtio-pci"
/* The virtio 1.2 modern PCI transport (no legacy interface).
 *
 * BAR 0 (32 KiB, 32-bit memory) holds every structure:
 *   0x0000 common configuration   0x1000 ISR status
 *   0x2000 device configuration   0x3000 notifications (4 bytes a queue)
 *   0x4000 MSI-X table            0x6000 MSI-X pending bits
 * BAR 2 (4 bytes of port I/O) is a second notification structure, listed
 * first so drivers prefer it: one port for every queue, the value written
 * names the queue (notify_off_multiplier 0).  A port write reaches KVM's
 * ioeventfd without instruction emulation, where an MMIO write must be
 * decoded first; on AMD hosts, and under nested virtualization, that is
 * most of a notification's cost.
 * Notification writes are caught by KVM ioeventfds and wake the queue's I/O
 * thread directly; the BAR handlers only see them when ioeventfd could not
 * be used (odd access sizes, the PCI configuration access window). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "hw/msix.h"
#include "hw/pci.h"
#include "virtio/transport.h"
#include "virtio/virtio.h"
#include "vmm/irq.h"
#include "vmm/vm.h"

#define VIRTIO_PCI_VENDOR 0x1af4
#define VIRTIO_PCI_DEVICE_BASE 0x1040
#define BAR_COMMON 0x0000
#define BAR_ISR 0x1000
#define BAR_DEVICE 0x2000
#define BAR_NOTIFY 0x3000
#define BAR_MSIX_TABLE 0x4000
#define BAR_MSIX_PBA 0x6000
#define BAR_SIZE 0x8000
#define PIO_BAR 2
#define PIO_BAR_SIZE 4
#define REGION 0x1000
#define NOTIFY_MULTIPLIER 4
#define COMMON_LEN 0x3c
#define MAX_QUEUES (REGION / NOTIFY_MULTIPLIER)
#define MAX_VECTORS ((BAR_MSIX_PBA - BAR_MSIX_TABLE) / MSIX_ENTRY_SIZE)

enum cfg_type { CAP_COMMON = 1, CAP_NOTIFY = 2, CAP_ISR = 3, CAP_DEVICE = 4, CAP_PCI_CFG = 5 };

/* Common configuration registers (virtio 1.2, 4.1.4.3). */
enum {
	DFSELECT = 0x00, DF = 0x04, GFSELECT = 0x08, GF = 0x0c, MSIX_CONFIG = 0x10,
	NUM_QUEUES = 0x12, STATUS = 0x14, CFG_GENERATION = 0x15, Q_SELECT = 0x16,
	Q_SIZE = 0x18, Q_MSIX = 0x1a, Q_ENABLE = 0x1c, Q_NOTIFY_OFF = 0x1e,
	Q_DESC = 0x20, Q_DRIVER = 0x28, Q_DEVICE = 0x30, Q_NOTIFY_DATA = 0x38, Q_RESET = 0x3a,
};

struct virtio_pci;

struct kick {
	struct virtio_pci *vp;
	unsigned int q;
	int fd;
};

struct virtio_pci {
	struct virtio_transport t;
	struct virtio_dev *dev;
	struct pci_device pci;
	struct msix msix;
	pthread_mutex_t lock; /* registers below, status changes */
	pthread_mutex_t isr_lock; /* isr and INTx only: taken by I/O threads */
	uint32_t dfselect, gfselect;
	uint64_t driver_features;
	uint16_t queue_sel;
	uint16_t config_vector;
	uint8_t isr;
	uint8_t pci_cfg_cap;
	struct kick *kicks;
	uint64_t notify_addr; /* where the MMIO ioeventfds are, 0: none */
	uint16_t notify_port; /* where the port I/O ioeventfds are, 0: none */
	bool running;         /* kick handlers are in the I/O loops */
	bool resume_running;  /* vm.pause stopped them: start them at resume */
};

#define ISR_QUEUE 1
#define ISR_CONFIG 2

static struct virtio_pci *vp_of(struct virtio_dev *d)
{
	return (struct virtio_pci *)d->transport;
}

static uint8_t status_of(struct virtio_dev *d)
{
	return __atomic_load_n(&d->status, __ATOMIC_ACQUIRE);
}

/* Interrupts: MSI-X when the driver enabled it, else INTx with the ISR. */
static void raise(struct virtio_pci *vp, uint16_t vector, uint8_t isr_bit)
{
	if (msix_enabled(&vp->msix)) {
		if (vector != MSIX_NO_VECTOR)
			msix_notify(&vp->msix, vector);
		return;
	}
	pthread_mutex_lock(&vp->isr_lock);
	vp->isr |= isr_bit;
	pci_set_intx(&vp->pci, 1);
	pthread_mutex_unlock(&vp->isr_lock);
}

static void pci_notify_queue(struct virtio_dev *d, unsigned int q)
{
	struct virtio_pci *vp = vp_of(d);

	raise(vp, d->vqs[q].cfg.msix_vector, ISR_QUEUE);
}

static void pci_notify_config(struct virtio_dev *d)
{
	struct virtio_pci *vp = vp_of(d);

	__atomic_add_fetch(&d->config_generation, 1, __ATOMIC_RELEASE);
	raise(vp, vp->config_vector, ISR_CONFIG);
}

static void on_kick(void *opaque, uint32_t events)
{
	struct kick *k = opaque;
	struct virtio_dev *d = k->vp->dev;
	uint64_t v;

	if (read(k->fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		return;
	if (!__atomic_load_n(&d->broken, __ATOMIC_ACQUIRE))
		d->ops->queue_notify(d, k->q);
}

/* A queue's kick goes to every loop that serves the queue; when several
 * do (queues_on_every_loop), EPOLLEXCLUSIVE wakes one idle loop, and the
 * kick is served there with no hand-off between threads. */
static int add_kick(struct virtio_dev *d, unsigned int q, struct kick *k)
{
	unsigned int n;
	struct event_loop *loops = virtio_queue_loops(d, q, &n);
	uint32_t events = n > 1 ? EPOLLIN | EPOLLEXCLUSIVE : EPOLLIN;

	for (unsigned int i = 0; i < n; i++) {
		int ret = event_loop_add(&loops[i], k->fd, events, on_kick, k);

		if (ret) {
			while (i--)
				event_loop_del(&loops[i], k->fd);
			return ret;
		}
	}
	return 0;
}

static void del_kick(struct virtio_dev *d, unsigned int q, int fd)
{
	unsigned int n;
	struct event_loop *loops = virtio_queue_loops(d, q, &n);

	for (unsigned int i = 0; i < n; i++)
		event_loop_del(&loops[i], fd);
}

/* Kick handlers go into the I/O loops at DRIVER_OK and leave at reset. */
static void start_queues(struct virtio_pci *vp)
{
	struct virtio_dev *d = vp->dev;

	for (unsigned int q = 0; q < d->nr_queues; q++) {
		struct kick *k = &vp->kicks[q];

		if (!d->vqs[q].ready)
			continue;
		if (add_kick(d, q, k) == 0) {
			uint64_t one = 1;

			/* Catch up with kicks made before DRIVER_OK. */
			if (write(k->fd, &one, sizeof(one)) < 0)
				log_debug("%s: kick: %s", d->name, strerror(errno));
		}
	}
	vp->running = true;
}

static void stop_queues(struct virtio_pci *vp)
{
	struct virtio_dev *d = vp->dev;

	if (!vp->running)
		return;
	for (unsigned int q = 0; q < d->nr_queues; q++)
		del_kick(d, q, vp->kicks[q].fd); /* waits for a handler in progress */
	vp->running = false;
}

static void device_reset(struct virtio_pci *vp)
{
	struct virtio_dev *d = vp->dev;

	stop_queues(vp);
	d->ops->reset(d);
	for (unsigned int q = 0; q < d->nr_queues; q++)
		virtq_reset(&d->vqs[q]);
	d->acked = 0;
	vp->driver_features = 0;
	vp->dfselect = vp->gfselect = 0;
	vp->queue_sel = 0;
	vp->config_vector = MSIX_NO_VECTOR;
	pthread_mutex_lock(&vp->isr_lock);
	vp->isr = 0;
	pci_set_intx(&vp->pci, 0);
	pthread_mutex_unlock(&vp->isr_lock);
	__atomic_store_n(&d->broken, false, __ATOMIC_RELEASE);
	__atomic_store_n(&d->status, 0, __ATOMIC_RELEASE);
}

static void driver_ok(struct virtio_pci *vp)
{
	struct virtio_dev *d = vp->dev;
	bool event_idx = virtio_has_feature(d, VIRTIO_F_EVENT_IDX);

	for (unsigned int q = 0; q < d->nr_queues; q++) {
		struct virtqueue *vq = &d->vqs[q];

		if (vq->cfg.enabled && virtq_activate(vq, &d->vm->mem, event_idx)) {
			virtio_set_broken(d, "a queue's rings are not valid guest memory");
			return;
		}
	}
	if (d->ops->activate(d)) {
		virtio_set_broken(d, "the device could not start");
		return;
	}
	start_queues(vp);
}

static void write_status(struct virtio_pci *vp, uint8_t v)
{
	struct virtio_dev *d = vp->dev;
	uint8_t old = status_of(d);

	if (v == 0) {
		device_reset(vp);
		return;
	}
	/* Bits stay set until a reset (a driver "MUST NOT clear a device
	 * status bit", virtio 1.2, 2.1.2).  Taking a clear at its word would
	 * make the queue registers writable under running queues and start
	 * the device twice. */
	v |= old;
	if ((v & VIRTIO_STATUS_FEATURES_OK) && !(old & VIRTIO_STATUS_FEATURES_OK)) {
		/* Only what we offered, and always the modern interface. */
		if ((vp->driver_features & ~d->features) ||
		    !(vp->driver_features & VIRTIO_F_VERSION_1))
			v &= (uint8_t)~VIRTIO_STATUS_FEATURES_OK;
		else
			d->acked = vp->driver_features;
	}
	/* DRIVER_OK is only meaningful after FEATURES_OK. */
	if (!(v & VIRTIO_STATUS_FEATURES_OK))
		v &= (uint8_t)~VIRTIO_STATUS_DRIVER_OK;
	__atomic_store_n(&d->status, v, __ATOMIC_RELEASE);
	if ((v & VIRTIO_STATUS_DRIVER_OK) && !(old & VIRTIO_STATUS_DRIVER_OK))
		driver_ok(vp);
}

static struct virtqueue *selected(struct virtio_pci *vp)
{
	return vp->queue_sel < vp->dev->nr_queues ? &vp->dev->vqs[vp->queue_sel] : NULL;
}

static uint16_t checked_vector(struct virtio_pci *vp, uint16_t v)
{
	/* Reading back NO_VECTOR tells the driver the vector was refused. */
	return v < vp->msix.nr ? v : MSIX_NO_VECTOR;
}

static void common_snapshot(struct virtio_pci *vp, uint8_t *r)
{
	struct virtio_dev *d = vp->dev;
	struct virtqueue *vq = selected(vp);
	uint64_t df = vp->dfselect < 2 ? d->features >> (32 * vp->dfselect) : 0;
	uint64_t gf = vp->gfselect < 2 ? vp->driver_features >> (32 * vp->gfselect) : 0;

	memset(r, 0, COMMON_LEN);
	pci_set_u32(r + DFSELECT, vp->dfselect);
	pci_set_u32(r + DF, (uint32_t)df);
	pci_set_u32(r + GFSELECT, vp->gfselect);
	pci_set_u32(r + GF, (uint32_t)gf);
	pci_set_u16(r + MSIX_CONFIG, vp->config_vector);
	pci_set_u16(r + NUM_QUEUES, (uint16_t)d->nr_queues);
	r[STATUS] = status_of(d);
	r[CFG_GENERATION] = __atomic_load_n(&d->config_generation, __ATOMIC_ACQUIRE);
	pci_set_u16(r + Q_SELECT, vp->queue_sel);
	if (!vq)
		return;
	pci_set_u16(r + Q_SIZE, vq->cfg.size);
	pci_set_u16(r + Q_MSIX, vq->cfg.msix_vector);
	pci_set_u16(r + Q_ENABLE, vq->cfg.enabled);
	pci_set_u16(r + Q_NOTIFY_OFF, vp->queue_sel);
	pci_set_u32(r + Q_DESC, (uint32_t)vq->cfg.desc);
	pci_set_u32(r + Q_DESC + 4, (uint32_t)(vq->cfg.desc >> 32));
	pci_set_u32(r + Q_DRIVER, (uint32_t)vq->cfg.avail);
	pci_set_u32(r + Q_DRIVER + 4, (uint32_t)(vq->cfg.avail >> 32));
	pci_set_u32(r + Q_DEVICE, (uint32_t)vq->cfg.used);
	pci_set_u32(r + Q_DEVICE + 4, (uint32_t)(vq->cfg.used >> 32));
	pci_set_u16(r + Q_NOTIFY_DATA, vp->queue_sel);
}

static void set_half(uint64_t *reg, uint32_t off, uint32_t v)
{
	if (off & 4)
		*reg = (*reg & 0xffffffffULL) | (uint64_t)v << 32;
	else
		*reg = (*reg & ~0xffffffffULL) | v;
}

static void common_write(struct virtio_pci *vp, uint32_t off, uint32_t v, unsigned int len)
{
	struct virtqueue *vq = selected(vp);
	bool live = status_of(vp->dev) & VIRTIO_STATUS_DRIVER_OK;

	switch (off) {
	case DFSELECT: if (len == 4) vp->dfselect = v; return;
	case GFSELECT: if (len == 4) vp->gfselect = v; return;
	case GF:
		if (len == 4 && vp->gfselect < 2)
			set_half(&vp->driver_features, vp->gfselect * 4, v);
		return;
	case MSIX_CONFIG: if (len == 2) vp->config_vector = checked_vector(vp, (uint16_t)v); return;
	case STATUS: if (len == 1) write_status(vp, (uint8_t)v); return;
	case Q_SELECT: if (len == 2) vp->queue_sel = (uint16_t)v; return;
	default: break;
	}
	/* Queue registers: only for a valid queue, before the device runs. */
	if (!vq || live)
		return;
	switch (off) {
	case Q_SIZE: if (len == 2) vq->cfg.size = (uint16_t)v; break;
	case Q_MSIX: if (len == 2) vq->cfg.msix_vector = checked_vector(vp, (uint16_t)v); break;
	case Q_ENABLE: if (len == 2 && v == 1) vq->cfg.enabled = true; break;
	case Q_DESC: case Q_DESC + 4: if (len == 4) set_half(&vq->cfg.desc, off, v); break;
	case Q_DRIVER: case Q_DRIVER + 4: if (len == 4) set_half(&vq->cfg.avail, off, v); break;
	case Q_DEVICE: case Q_DEVICE + 4: if (len == 4) set_half(&vq->cfg.used, off, v); break;
	default: break; /* read-only or reserved */
	}
}

static void kick_queue(struct virtio_pci *vp, uint64_t q)
{
	uint64_t one = 1;

	if (q < vp->dev->nr_queues && write(vp->kicks[q].fd, &one, sizeof(one)) < 0)
		log_debug("%s: kick: %s", vp->dev->name, strerror(errno));
}

static void bar_read(void *opaque, uint64_t off, uint8_t *data, unsigned int len)
{
	struct virtio_pci *vp = opaque;
	struct virtio_dev *d = vp->dev;
	uint8_t regs[COMMON_LEN];

	memset(data, 0, len);
	if (off < BAR_COMMON + REGION) {
		if (off + len <= COMMON_LEN) {
			pthread_mutex_lock(&vp->lock);
			common_snapshot(vp, regs);
			pthread_mutex_unlock(&vp->lock);
			memcpy(data, regs + off, len);
		}
	} else if (off == BAR_ISR) {
		/* Reading the ISR acknowledges it and drops INTx. */
		pthread_mutex_lock(&vp->isr_lock);
		data[0] = vp->isr;
		vp->isr = 0;
		pci_set_intx(&vp->pci, 0);
		pthread_mutex_unlock(&vp->isr_lock);
	} else if (off >= BAR_DEVICE && off < BAR_DEVICE + REGION) {
		uint32_t o = (uint32_t)(off - BAR_DEVICE);

		if (o < d->config_len && len <= d->config_len - o && d->ops->config_read)
			d->ops->config_read(d, o, data, len);
	} else if (off >= BAR_MSIX_TABLE && off < BAR_MSIX_PBA) {
		msix_table_read(&vp->msix, off - BAR_MSIX_TABLE, data, len);
	} else if (off >= BAR_MSIX_PBA) {
		msix_pba_read(&vp->msix, off - BAR_MSIX_PBA, data, len);
	}
}

static void bar_write(void *opaque, uint64_t off, const uint8_t *data, unsigned int len)
{
	struct virtio_pci *vp = opaque;
	struct virtio_dev *d = vp->dev;

	if (off < BAR_COMMON + REGION) {
		if (off + len <= COMMON_LEN) {
			pthread_mutex_lock(&vp->lock);
			common_write(vp, (uint32_t)off, (uint32_t)bus_get(data, len), len);
			pthread_mutex_unlock(&vp->lock);
		}
	} else if (off >= BAR_DEVICE && off < BAR_DEVICE + REGION) {
		uint32_t o = (uint32_t)(off - BAR_DEVICE);

		if (o < d->config_len && len <= d->config_len - o && d->ops->config_write)
			d->ops->config_write(d, o, data, len);
	} else if (off >= BAR_NOTIFY && off < BAR_NOTIFY + REGION) {
		kick_queue(vp, (off - BAR_NOTIFY) / NOTIFY_MULTIPLIER);
	} else if (off >= BAR_MSIX_TABLE && off < BAR_MSIX_PBA) {
		msix_table_write(&vp->msix, off - BAR_MSIX_TABLE, data, len);
	}
}

static const struct bus_ops bar_ops = { .read = bar_read, .write = bar_write };

static void pio_read(void *opaque, uint64_t off, uint8_t *data, unsigned int len)
{
	memset(data, 0, len);
}

/* Only when no ioeventfd took the write: the value is the queue index. */
static void pio_write(void *opaque, uint64_t off, const uint8_t *data, unsigned int len)
{
	if (off == 0 && len == 2)
		kick_queue(opaque, bus_get(data, 2));
}

static const struct bus_ops pio_ops = { .read = pio_read, .write = pio_write };

static void remap_mmio_notify(struct virtio_pci *vp, uint64_t old_addr, uint64_t new_addr)
{
	for (unsigned int q = 0; q < vp->dev->nr_queues; q++) {
		uint64_t off = BAR_NOTIFY + (uint64_t)q * NOTIFY_MULTIPLIER;

		if (old_addr && vp->notify_addr)
			ioeventfd_deassign(vp->dev->vm, vp->kicks[q].fd, old_addr + off, 2, false);
		if (new_addr &&
		    ioeventfd_assign(vp->dev->vm, vp->kicks[q].fd, new_addr + off, 2, false))
			log_debug("%s: no ioeventfd for queue %u: %s", vp->dev->name, q,
				  strerror(errno));
	}
	vp->notify_addr = new_addr;
}

static void remap_pio_notify(struct virtio_pci *vp, uint16_t old_port, uint16_t new_port)
{
	for (unsigned int q = 0; q < vp->dev->nr_queues; q++) {
		if (old_port && vp->notify_port)
			ioeventfd_deassign_match(vp->dev->vm, vp->kicks[q].fd, old_port, 2, q);
		if (new_port && ioeventfd_assign_match(vp->dev->vm, vp->kicks[q].fd, new_port, 2, q))
			log_debug("%s: no port ioeventfd for queue %u: %s", vp->dev->name, q,
				  strerror(errno));
	}
	vp->notify_port = new_port;
}

/* ioeventfds follow the BARs wherever the guest puts them. */
static void bar_remap(struct pci_device *pci, unsigned int bar, uint64_t old_addr,
		      uint64_t new_addr)
{
	struct virtio_pci *vp = pci->opaque;

	if (bar == 0)
		remap_mmio_notify(vp, old_addr, new_addr);
	else if (bar == PIO_BAR)
		remap_pio_notify(vp, (uint16_t)old_addr, (uint16_t)new_addr);
}

/* The VIRTIO_PCI_CAP_PCI_CFG window: BAR access through config space. */
static void cfg_window(struct virtio_pci *vp, bool write)
{
	uint8_t *cap = vp->pci.config + vp->pci_cfg_cap;
	uint32_t off = pci_get_u32(cap + 8), len = pci_get_u32(cap + 12);

	if ((len != 1 && len != 2 && len != 4) || off % len)
		return;
	if (cap[4] == PIO_BAR && off < PIO_BAR_SIZE && len <= PIO_BAR_SIZE - off) {
		if (write)
			pio_write(vp, off, cap + 16, len);
		else
			pio_read(vp, off, cap + 16, len);
		return;
	}
	if (cap[4] != 0 || off >= BAR_SIZE)
		return;
	if (write)
		bar_write(vp, off, cap + 16, len);
	else
		bar_read(vp, off, cap + 16, len);
}

static void config_written(struct pci_device *pci, uint32_t off, uint32_t len)
{
	struct virtio_pci *vp = pci->opaque;

	msix_config_written(&vp->msix, off, len);
	if (off < vp->pci_cfg_cap + 20u && off + len > vp->pci_cfg_cap + 16u)
		cfg_window(vp, true);
}

static void config_reading(struct pci_device *pci, uint32_t off, uint32_t len)
{
	struct virtio_pci *vp = pci->opaque;

	if (off < vp->pci_cfg_cap + 20u && off + len > vp->pci_cfg_cap + 16u)
		cfg_window(vp, false);
}

static const struct pci_device_ops pci_ops = {
	.config_write = config_written,
	.config_read = config_reading,
	.bar_remap = bar_remap,
};

static uint8_t add_virtio_cap_in(struct pci_device *pci, uint8_t type, uint8_t bar, uint32_t off,
				 uint32_t len, uint8_t cap_len)
{
	uint8_t at = pci_add_cap(pci, PCI_CAP_ID_VNDR, cap_len);

	if (!at)
		return 0;
	pci->config[at + 2] = cap_len;
	pci->config[at + 3] = type;
	pci->config[at + 4] = bar;
	pci_set_u32(pci->config + at + 8, off);
	pci_set_u32(pci->config + at + 12, len);
	return at;
}

static uint8_t add_virtio_cap(struct pci_device *pci, uint8_t type, uint32_t off, uint32_t len,
			      uint8_t cap_len)
{
	return add_virtio_cap_in(pci, type, 0, off, len, cap_len);
}

static int add_caps(struct virtio_pci *vp)
{
	struct pci_device *pci = &vp->pci;
	struct virtio_dev *d = vp->dev;
	uint8_t notify, cfg;

	if (!add_virtio_cap(pci, CAP_COMMON, BAR_COMMON, COMMON_LEN, 16))
		return -ENOSPC;
	/* First, so preferred: the port (multiplier 0, hence the zeros). */
	if (!add_virtio_cap_in(pci, CAP_NOTIFY, PIO_BAR, 0, 2, 20))
		return -ENOSPC;
	notify = add_virtio_cap(pci, CAP_NOTIFY, BAR_NOTIFY, d->nr_queues * NOTIFY_MULTIPLIER, 20);
	if (!notify || !add_virtio_cap(pci, CAP_ISR, BAR_ISR, 1, 16))
		return -ENOSPC;
	pci_set_u32(pci->config + notify + 16, NOTIFY_MULTIPLIER);
	if (d->config_len && !add_virtio_cap(pci, CAP_DEVICE, BAR_DEVICE, d->config_len, 16))
		return -ENOSPC;
	cfg = add_virtio_cap(pci, CAP_PCI_CFG, 0, 0, 20);
	if (!cfg)
		return -ENOSPC;
	/* bar, offset, length and data of the window are the driver's. */
	pci->wmask[cfg + 4] = 0xff;
	memset(pci->wmask + cfg + 8, 0xff, 12);
	vp->pci_cfg_cap = cfg;
	return 0;
}

static void pci_destroy(struct virtio_dev *d)
{
	struct virtio_pci *vp = vp_of(d);

	stop_queues(vp);
	pci_host_remove_device(d->vm->pci, &vp->pci);
	if (vp->notify_addr)
		remap_mmio_notify(vp, vp->notify_addr, 0);
	if (vp->notify_port)
		remap_pio_notify(vp, vp->notify_port, 0);
	msix_destroy(&vp->msix);
	for (unsigned int q = 0; vp->kicks && q < d->nr_queues; q++)
		if (vp->kicks[q].fd >= 0)
			close(vp->kicks[q].fd);
	free(vp->kicks);
	pthread_mutex_destroy(&vp->lock);
	pthread_mutex_destroy(&vp->isr_lock);
	free(vp);
	d->transport = NULL;
}

/* vm.pause: the vCPUs are parked, so no register access races with this;
 * the lock is taken all the same.  Kicks that arrive meanwhile stay counted
 * in their eventfds, and start_queues() catches up with every queue. */
static void pci_pause(struct virtio_dev *d)
{
	struct virtio_pci *vp = vp_of(d);

	pthread_mutex_lock(&vp->lock);
	vp->resume_running = vp->running;
	stop_queues(vp); /* waits for a queue_notify in progress */
	pthread_mutex_unlock(&vp->lock);
}

static void pci_resume(struct virtio_dev *d)
{
	struct virtio_pci *vp = vp_of(d);

	pthread_mutex_lock(&vp->lock);
	if (vp->resume_running && !vp->running)
		start_queues(vp);
	vp->resume_running = false;
	pthread_mutex_unlock(&vp->lock);
}

static void pci_kick(struct virtio_dev *d, unsigned int q)
{
	kick_queue(vp_of(d), q);
}

static const struct virtio_transport_ops transport_ops = {
	.notify_queue = pci_notify_queue,
	.kick = pci_kick,
	.notify_config = pci_notify_config,
	.destroy = pci_destroy,
	.pause = pci_pause,
	.resume = pci_resume,
};

static uint32_t class_of(uint16_t type)
{
	switch (type) {
	case VIRTIO_ID_NET: return 0x020000;     /* ethernet */
	case VIRTIO_ID_BLOCK: return 0x018000;   /* other mass storage */
	case VIRTIO_ID_CONSOLE: return 0x078000; /* other communication */
	default: return 0x00ff00;
	}
}

int virtio_pci_attach(struct virtio_dev *d)
{
	struct virtio_pci *vp = calloc(1, sizeof(*vp));
	unsigned int vectors = d->nr_queues + 1;
	int ret;

	if (!vp)
		return -ENOMEM;
	if (d->nr_queues > MAX_QUEUES || vectors > MAX_VECTORS || d->config_len > REGION) {
		free(vp);
		return -EINVAL;
	}
	vp->t.ops = &transport_ops;
	vp->dev = d;
	d->transport = &vp->t;
	pthread_mutex_init(&vp->lock, NULL);
	pthread_mutex_init(&vp->isr_lock, NULL);
	vp->config_vector = MSIX_NO_VECTOR;
	vp->kicks = calloc(d->nr_queues, sizeof(*vp->kicks));
	if (!vp->kicks) {
		ret = -ENOMEM;
		goto err;
	}
	for (unsigned int q = 0; q < d->nr_queues; q++)
		vp->kicks[q] = (struct kick){ .vp = vp, .q = q, .fd = -1 };
	for (unsigned int q = 0; q < d->nr_queues; q++) {
		vp->kicks[q].fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (vp->kicks[q].fd < 0) {
			ret = -errno;
			goto err;
		}
	}
	pci_device_init(&vp->pci, d->name, VIRTIO_PCI_VENDOR,
			(uint16_t)(VIRTIO_PCI_DEVICE_BASE + d->type), class_of(d->type), 1);
	pci_set_u16(vp->pci.config + PCI_SUBSYS_VENDOR, VIRTIO_PCI_VENDOR);
	pci_set_u16(vp->pci.config + PCI_SUBSYS_ID, 0x40);
	vp->pci.ops = &pci_ops;
	vp->pci.opaque = vp;
	ret = pci_add_bar(&vp->pci, 0, BAR_SIZE, 0, &bar_ops, vp);
	if (!ret)
		ret = pci_add_bar(&vp->pci, PIO_BAR, PIO_BAR_SIZE, PCI_BAR_IO, &pio_ops, vp);
	if (!ret)
		ret = add_caps(vp);
	if (!ret)
		ret = msix_init(&vp->msix, d->vm, &vp->pci, vectors, 0, BAR_MSIX_TABLE, BAR_MSIX_PBA);
	if (!ret)
		ret = pci_host_add_device(d->vm->pci, &vp->pci);
	if (ret)
		goto err;
	return 0;
err:
	log_error("cannot attach %s to PCI: %s", d->name, strerror(-ret));
	pci_destroy(d);
	return ret;
}
