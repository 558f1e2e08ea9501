#define LOG_TAG "virtio-balloon"
/* virtio-balloon: memory the guest hands back to the host.
 *
 * Inflate: the guest lists page frames it will not touch; sardine drops
 * them (MADV_DONTNEED) so the host reclaims them.  Deflate: the guest takes
 * pages back; they fault in again, zeroed.  Statistics: the guest's view of
 * its memory, refreshed every few seconds.  Free page reporting: the guest
 * reports free ranges on its own and sardine drops them, so memory a guest
 * frees returns to the host with nobody asking.  DEFLATE_ON_OOM lets the
 * guest take balloon pages back before its OOM killer runs.
 *
 * Queue numbers follow the features the driver accepted: inflate 0,
 * deflate 1, then statistics and reporting in that order when negotiated
 * (Linux numbers present queues consecutively). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "virtio/balloon.h"
#include "virtio/devices.h"
#include "virtio/virtio.h"
#include "vmm/balloon_policy.h"
#include "vmm/config.h"
#include "vmm/hostmem.h"
#include "vmm/vm.h"

#define F_MUST_TELL_HOST (1ULL << 0)
#define F_STATS_VQ (1ULL << 1)
#define F_DEFLATE_ON_OOM (1ULL << 2)
#define F_PAGE_REPORTING (1ULL << 5)
#define BALLOON_PAGE 4096ULL
#define QUEUE_SIZE 256
#define NR_QUEUES 4 /* inflate, deflate, stats, reporting */
#define STATS_PERIOD_S 2
#define NO_QUEUE (-1)

struct balloon_config_space {
	uint32_t num_pages; /* device: target, in 4 KiB pages */
	uint32_t actual;    /* driver: pages in the balloon */
	uint32_t free_page_hint_cmd_id;
	uint32_t poison_val;
};

struct virtio_balloon {
	struct virtio_dev dev;
	pthread_mutex_t lock; /* config, stats, info */
	struct balloon_config_space cfg;
	int stats_q, report_q; /* queue numbers, NO_QUEUE when absent */
	bool stats_held;       /* the driver's stats buffer is with us */
	uint16_t stats_head;
	int64_t stats[BALLOON_NR_STATS];
	struct timespec stats_time;
	int timer_fd;
	uint64_t inflated, deflated, reported;
	bool auto_size;
	struct balloon_policy policy;
	struct virtq_elem elem;
};

static const char *const stat_names[BALLOON_NR_STATS] = {
	"swap_in", "swap_out", "major_faults", "minor_faults", "free_memory",
	"total_memory", "available_memory", "disk_caches", "hugetlb_allocations",
	"hugetlb_failures",
};

const char *balloon_stat_name(enum balloon_stat s)
{
	return s < BALLOON_NR_STATS ? stat_names[s] : "unknown";
}

static struct virtio_balloon *to_balloon(struct virtio_dev *d)
{
	return (struct virtio_balloon *)d;
}

bool virtio_is_balloon(const struct virtio_dev *d)
{
	return d->type == VIRTIO_ID_BALLOON;
}

/* Inflate: drop each listed page; deflate: nothing to do, pages come back
 * zeroed when the guest touches them.  Bad page numbers break the device. */
static int handle_pfns(struct virtio_balloon *b, const struct virtq_elem *e, bool inflate)
{
	const struct guest_mem *mem = &b->dev.vm->mem;
	uint32_t pfns[256];
	uint64_t off = 0;

	if (e->out_len % 4)
		return -EINVAL;
	while (off < e->out_len) {
		size_t n = iov_to_buf(e->iov, e->out_num, off, pfns, sizeof(pfns)) / 4;

		for (size_t i = 0; i < n; i++) {
			uint64_t gpa = (uint64_t)pfns[i] * BALLOON_PAGE;

			if (!gm_range_valid(mem, gpa, BALLOON_PAGE))
				return -EINVAL;
			if (inflate && gm_discard(mem, gpa, BALLOON_PAGE))
				return -EINVAL;
		}
		if (inflate)
			b->inflated += n;
		else
			b->deflated += n;
		off += n * 4;
	}
	return 0;
}

/* Free page reporting: each buffer is a free range of guest memory. */
static int handle_report(struct virtio_balloon *b, const struct virtq_elem *e)
{
	unsigned int n = e->out_num + e->in_num;

	for (unsigned int i = 0; i < n; i++) {
		const struct guest_mem *mem = &b->dev.vm->mem;
		uint64_t gpa = gm_gpa_of(mem, e->iov[i].iov_base), len = e->iov[i].iov_len;

		/* gm_discard insists on whole pages inside guest RAM. */
		if (gm_discard(mem, gpa, len))
			return -EINVAL;
		b->reported += len;
	}
	return 0;
}

/* The driver's statistics buffer: (le16 tag, le64 value) pairs. */
static void take_stats(struct virtio_balloon *b, const struct virtq_elem *e)
{
	uint8_t rec[10];

	pthread_mutex_lock(&b->lock);
	for (size_t i = 0; i < BALLOON_NR_STATS; i++)
		b->stats[i] = -1;
	for (uint64_t off = 0; off + sizeof(rec) <= e->out_len && off < 64 * sizeof(rec);
	     off += sizeof(rec)) {
		uint16_t tag;
		uint64_t val;

		iov_to_buf(e->iov, e->out_num, off, rec, sizeof(rec));
		memcpy(&tag, rec, 2);
		memcpy(&val, rec + 2, 8);
		if (tag < BALLOON_NR_STATS)
			b->stats[tag] = (int64_t)val;
	}
	clock_gettime(CLOCK_MONOTONIC, &b->stats_time);
	b->stats_held = true;
	b->stats_head = e->head;
	pthread_mutex_unlock(&b->lock);
}

static void process_queue(struct virtio_balloon *b, unsigned int q)
{
	struct virtio_dev *d = &b->dev;
	struct virtqueue *vq = &d->vqs[q];
	bool more;

	do {
		int got, err = 0;

		virtq_disable_notify(vq);
		while (!err && (got = virtq_pop(vq, &b->elem)) > 0) {
			d->stats.requests++;
			if (q == 0 || q == 1) {
				err = handle_pfns(b, &b->elem, q == 0);
			} else if ((int)q == b->stats_q) {
				take_stats(b, &b->elem);
				continue; /* kept until we want fresh numbers */
			} else if ((int)q == b->report_q) {
				err = handle_report(b, &b->elem);
			}
			virtq_push(vq, b->elem.head, 0);
		}
		if (got < 0 || err) {
			virtio_set_broken(d, "malformed page list or report");
			return;
		}
		virtio_notify_queue(d, q);
		more = virtq_enable_notify(vq);
	} while (more);
}

static void balloon_queue_notify(struct virtio_dev *d, unsigned int q)
{
	process_queue(to_balloon(d), q);
}

/* --balloon auto: size the balloon from the host's state and the guest's
 * last statistics (see vmm/balloon_policy.h). */
static void auto_size(struct virtio_balloon *b)
{
	struct balloon_policy_input in = { .guest_ram = b->dev.vm->mem.ram_size };
	struct host_memory host;
	uint64_t target, current_target;

	if (host_memory_read(&host, "/proc", "/sys/fs/cgroup"))
		return;
	pthread_mutex_lock(&b->lock);
	in.balloon = (uint64_t)b->cfg.actual * BALLOON_PAGE;
	in.guest_available = b->stats[BALLOON_AVAILABLE_MEMORY];
	current_target = (uint64_t)b->cfg.num_pages * BALLOON_PAGE;
	pthread_mutex_unlock(&b->lock);
	in.host_total = host.total;
	in.host_available = host.available;
	in.host_pressure = host.pressure_avg10;
	/* Wait for the guest to reach the last target before the next step. */
	if (in.balloon != current_target && in.guest_available >= 0 &&
	    (uint64_t)in.guest_available >= b->policy.margin_min)
		return;
	target = balloon_policy_target(&b->policy, &in);
	if (target != current_target) {
		log_debug("auto: balloon %llu -> %llu MiB (guest available %lld MiB, host available %llu MiB, pressure %.1f%%)",
			  (unsigned long long)(in.balloon >> 20), (unsigned long long)(target >> 20),
			  (long long)(in.guest_available >> 20),
			  (unsigned long long)(host.available >> 20), host.pressure_avg10);
		virtio_balloon_set_target(&b->dev, target);
	}
}

/* Every few seconds: hand the statistics buffer back for a refill, and
 * in auto mode resize the balloon. */
static void on_stats_timer(void *opaque, uint32_t events)
{
	struct virtio_balloon *b = opaque;
	uint64_t expirations;
	bool give_back;

	if (read(b->timer_fd, &expirations, sizeof(expirations)) < 0)
		return;
	if (b->auto_size && b->stats_q != NO_QUEUE && !b->dev.broken)
		auto_size(b);
	/* Under the lock: a reset (balloon_reset, then the rings cleared) may
	 * come from a vCPU at any time, and does not wait for this timer. */
	pthread_mutex_lock(&b->lock);
	give_back = b->stats_held && b->stats_q != NO_QUEUE && !b->dev.broken;
	b->stats_held = false;
	if (give_back) {
		virtq_push(&b->dev.vqs[b->stats_q], b->stats_head, 0);
		virtio_notify_queue(&b->dev, (unsigned int)b->stats_q);
	}
	pthread_mutex_unlock(&b->lock);
}

static int balloon_activate(struct virtio_dev *d)
{
	struct virtio_balloon *b = to_balloon(d);
	int next = 2;

	pthread_mutex_lock(&b->lock);
	b->stats_q = virtio_has_feature(d, F_STATS_VQ) ? next++ : NO_QUEUE;
	b->report_q = virtio_has_feature(d, F_PAGE_REPORTING) ? next++ : NO_QUEUE;
	b->stats_held = false;
	pthread_mutex_unlock(&b->lock);
	return 0;
}

static void balloon_reset(struct virtio_dev *d)
{
	struct virtio_balloon *b = to_balloon(d);

	pthread_mutex_lock(&b->lock);
	b->stats_held = false;
	b->cfg.actual = 0;
	b->stats_q = b->report_q = NO_QUEUE;
	pthread_mutex_unlock(&b->lock);
}

static void balloon_config_read(struct virtio_dev *d, uint32_t off, uint8_t *data, uint32_t len)
{
	struct virtio_balloon *b = to_balloon(d);

	pthread_mutex_lock(&b->lock);
	memcpy(data, (uint8_t *)&b->cfg + off, len);
	pthread_mutex_unlock(&b->lock);
}

static void balloon_config_write(struct virtio_dev *d, uint32_t off, const uint8_t *data,
				 uint32_t len)
{
	struct virtio_balloon *b = to_balloon(d);

	/* Only "actual" belongs to the driver. */
	if (off < 4 || off + len > 8)
		return;
	pthread_mutex_lock(&b->lock);
	memcpy((uint8_t *)&b->cfg + off, data, len);
	pthread_mutex_unlock(&b->lock);
}

int virtio_balloon_set_target(struct virtio_dev *d, uint64_t bytes)
{
	struct virtio_balloon *b = to_balloon(d);
	uint64_t pages = bytes / BALLOON_PAGE;

	if (d->type != VIRTIO_ID_BALLOON || bytes >= d->vm->mem.ram_size)
		return -EINVAL;
	pthread_mutex_lock(&b->lock);
	b->cfg.num_pages = (uint32_t)pages;
	pthread_mutex_unlock(&b->lock);
	virtio_notify_config(d);
	return 0;
}

void virtio_balloon_info(struct virtio_dev *d, struct balloon_info *out)
{
	struct virtio_balloon *b = to_balloon(d);
	struct timespec now;

	memset(out, 0, sizeof(*out));
	clock_gettime(CLOCK_MONOTONIC, &now);
	pthread_mutex_lock(&b->lock);
	out->target_bytes = (uint64_t)b->cfg.num_pages * BALLOON_PAGE;
	out->actual_bytes = (uint64_t)b->cfg.actual * BALLOON_PAGE;
	memcpy(out->stats, b->stats, sizeof(out->stats));
	out->stats_age_ms = b->stats_time.tv_sec ?
		(uint64_t)(now.tv_sec - b->stats_time.tv_sec) * 1000 +
			(uint64_t)(now.tv_nsec - b->stats_time.tv_nsec) / 1000000 : UINT64_MAX;
	out->inflated_pages = b->inflated;
	out->deflated_pages = b->deflated;
	out->reported_bytes = b->reported;
	out->stats_queue = b->stats_q != NO_QUEUE;
	out->free_page_reporting = b->report_q != NO_QUEUE;
	out->deflate_on_oom = virtio_has_feature(d, F_DEFLATE_ON_OOM);
	pthread_mutex_unlock(&b->lock);
}

static void balloon_destroy(struct virtio_dev *d)
{
	struct virtio_balloon *b = to_balloon(d);

	event_loop_del(virtio_queue_loop(d, 0), b->timer_fd);
	virtio_dev_cleanup(d);
	close(b->timer_fd);
	pthread_mutex_destroy(&b->lock);
	free(b);
}

/* vm.pause: the statistics timer (which hands a buffer back to the guest
 * and, in auto mode, resizes the balloon) waits; the transport has stopped
 * the queues.  A period missed while paused fires once at resume. */
static void balloon_pause(struct virtio_dev *d)
{
	event_loop_del(virtio_queue_loop(d, 0), to_balloon(d)->timer_fd); /* waits for it */
}

static void balloon_resume(struct virtio_dev *d)
{
	struct virtio_balloon *b = to_balloon(d);

	if (event_loop_add(virtio_queue_loop(d, 0), b->timer_fd, EPOLLIN, on_stats_timer, b))
		log_warn("%s: statistics timer lost at resume", d->name);
}

static const struct virtio_dev_ops balloon_ops = {
	.pause = balloon_pause,
	.resume = balloon_resume,
	.config_read = balloon_config_read,
	.config_write = balloon_config_write,
	.activate = balloon_activate,
	.reset = balloon_reset,
	.queue_notify = balloon_queue_notify,
	.destroy = balloon_destroy,
};

int virtio_balloon_create(struct vm *vm, const struct balloon_config *cfg, struct virtio_dev **out)
{
	struct virtio_balloon *b = calloc(1, sizeof(*b));
	struct itimerspec period = { .it_interval = { STATS_PERIOD_S, 0 },
				     .it_value = { STATS_PERIOD_S, 0 } };
	int ret;

	if (!b)
		return -ENOMEM;
	pthread_mutex_init(&b->lock, NULL);
	b->stats_q = b->report_q = NO_QUEUE;
	for (size_t i = 0; i < BALLOON_NR_STATS; i++)
		b->stats[i] = -1;
	b->cfg.num_pages = (uint32_t)(cfg->size / BALLOON_PAGE);
	b->auto_size = cfg->auto_size;
	balloon_policy_defaults(&b->policy);
	if (cfg->auto_margin)
		b->policy.margin_min = cfg->auto_margin;
	if (cfg->auto_step_pct)
		b->policy.step_pct = cfg->auto_step_pct;
	if (cfg->auto_pressure_pct)
		b->policy.pressure_pct = cfg->auto_pressure_pct;
	b->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (b->timer_fd < 0) {
		ret = -errno;
		goto err;
	}
	/* One I/O thread: the queues, the timer and the stats buffer share it. */
	ret = virtio_dev_init(&b->dev, vm, "virtio-balloon", VIRTIO_ID_BALLOON, NR_QUEUES,
			      QUEUE_SIZE, 1);
	if (ret)
		goto err_timer;
	b->dev.ops = &balloon_ops;
	b->dev.config_len = sizeof(b->cfg);
	b->dev.features |= F_STATS_VQ;
	if (cfg->deflate_on_oom)
		b->dev.features |= F_DEFLATE_ON_OOM;
	if (cfg->free_page_reporting)
		b->dev.features |= F_PAGE_REPORTING;
	b->dev.priv = b;
	ret = event_loop_add(virtio_queue_loop(&b->dev, 0), b->timer_fd, EPOLLIN, on_stats_timer, b);
	if (!ret && timerfd_settime(b->timer_fd, 0, &period, NULL) < 0)
		ret = -errno;
	if (ret) {
		virtio_dev_cleanup(&b->dev);
		goto err_timer;
	}
	*out = &b->dev;
	return 0;
err_timer:
	close(b->timer_fd);
err:
	pthread_mutex_destroy(&b->lock);
	free(b);
	return ret;
}
