#include "api/report.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>
#include <linux/kvm.h>

#include "api/memory.h"
#include "hw/uart.h"
#include "virtio/balloon.h"
#include "virtio/virtio.h"
#include "vmm/vcpu.h"
#include "vmm/vm.h"

#define MAX_KVM_STATS 1024
#define MAX_KVM_STATS_DATA (1 << 20)

static const char *const vcpu_stat_names[VCPU_STAT_NR] = {
	[VCPU_STAT_IO] = "exits_io",
	[VCPU_STAT_MMIO] = "exits_mmio",
	[VCPU_STAT_INTR] = "exits_intr",
	[VCPU_STAT_HLT] = "exits_hlt",
	[VCPU_STAT_SYSTEM_EVENT] = "exits_system_event",
	[VCPU_STAT_OTHER] = "exits_other",
};

/* Counters are bumped by other threads without a lock: read each once. */
static uint64_t load(const uint64_t *p)
{
	return __atomic_load_n(p, __ATOMIC_RELAXED);
}

static bool put_u64(struct json_object *o, const char *key, uint64_t v)
{
	struct json_object *n = json_object_new_uint64(v);

	if (!n || json_object_object_add(o, key, n)) {
		json_object_put(n);
		return false;
	}
	return true;
}

/* KVM's binary statistics of a vCPU (header, descriptors, one data
 * block; see the kernel's Documentation/virt/kvm/api.rst): the scalar ones,
 * histograms are left out. */
static void add_kvm_stats(struct json_object *o, int fd)
{
	struct kvm_stats_header h;
	struct kvm_stats_desc *desc;
	uint8_t *descs = NULL;
	uint64_t *data = NULL;
	size_t desc_size, data_len = 0;

	if (fd < 0)
		return;
	if (pread(fd, &h, sizeof(h), 0) != (ssize_t)sizeof(h) || h.num_desc > MAX_KVM_STATS ||
	    h.name_size == 0 || h.name_size > 256)
		goto out;
	desc_size = sizeof(*desc) + h.name_size;
	descs = malloc(desc_size * h.num_desc);
	if (!descs || pread(fd, descs, desc_size * h.num_desc, h.desc_offset) !=
			      (ssize_t)(desc_size * h.num_desc))
		goto out;
	for (uint32_t i = 0; i < h.num_desc; i++) {
		desc = (struct kvm_stats_desc *)(descs + i * desc_size);
		if ((size_t)desc->offset + desc->size * 8ULL > data_len)
			data_len = (size_t)desc->offset + desc->size * 8ULL;
	}
	if (data_len > MAX_KVM_STATS_DATA)
		goto out;
	data = malloc(data_len + 8);
	if (!data || pread(fd, data, data_len, h.data_offset) != (ssize_t)data_len)
		goto out;
	for (uint32_t i = 0; i < h.num_desc; i++) {
		char key[300];
		uint64_t v;

		desc = (struct kvm_stats_desc *)(descs + i * desc_size);
		if (desc->size != 1 || desc->offset % 8)
			continue;
		desc->name[h.name_size - 1] = '\0';
		memcpy(&v, (uint8_t *)data + desc->offset, sizeof(v));
		snprintf(key, sizeof(key), "kvm_%s", desc->name);
		put_u64(o, key, v);
	}
out:
	free(data);
	free(descs);
}

static struct json_object *device_counters(const struct virtio_dev *d)
{
	struct json_object *o = json_object_new_object();

	if (o && !(put_u64(o, "requests", load(&d->stats.requests)) &&
		   put_u64(o, "read_bytes", load(&d->stats.read_bytes)) &&
		   put_u64(o, "write_bytes", load(&d->stats.write_bytes)) &&
		   put_u64(o, "errors", load(&d->stats.errors)))) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

static struct json_object *vcpu_counters(struct vm *vm, struct vcpu *vcpu)
{
	struct json_object *o = json_object_new_object();

	if (!o)
		return NULL;
	for (int s = 0; s < VCPU_STAT_NR; s++) {
		if (!put_u64(o, vcpu_stat_names[s], load(&vcpu->stats[s]))) {
			json_object_put(o);
			return NULL;
		}
	}
	add_kvm_stats(o, vcpu->stats_fd);
	return o;
}

static struct json_object *serial_counters(const struct uart *u)
{
	struct json_object *o = json_object_new_object();

	/* From the guest's point of view: it writes what goes out. */
	if (o && !(put_u64(o, "write_bytes", load(&u->tx_bytes)) &&
		   put_u64(o, "read_bytes", load(&u->rx_bytes)))) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

static bool add(struct json_object *doc, const char *key, struct json_object *val)
{
	if (!val || json_object_object_add(doc, key, val)) {
		json_object_put(val);
		return false;
	}
	return true;
}

struct json_object *report_counters(struct vm *vm)
{
	struct json_object *doc = json_object_new_object();
	bool ok = doc != NULL;
	char key[32];

	for (unsigned int i = 0; ok && i < vm->nr_virtio; i++) {
		struct virtio_dev *d = vm->virtio[i];
		struct json_object *o = device_counters(d);

		if (o && virtio_is_balloon(d))
			report_balloon_counters(o, d);
		ok = add(doc, d->name, o);
	}
	if (ok && vm->uart)
		ok = add(doc, "serial0", serial_counters(vm->uart));
	for (unsigned int i = 0; ok && i < vm->nr_vcpus; i++) {
		snprintf(key, sizeof(key), "vcpu%u", i);
		ok = add(doc, key, vcpu_counters(vm, &vm->vcpus[i]));
	}
	if (ok)
		ok = add(doc, "memory", report_process_memory("/proc/self"));
	if (!ok) {
		json_object_put(doc);
		return NULL;
	}
	return doc;
}
