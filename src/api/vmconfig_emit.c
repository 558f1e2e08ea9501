/* struct vm_config -> VmConfig JSON, as vm.info returns it.  Everything
 * vmconfig_parse() needs to build the same VM is written out explicitly,
 * since omitted fields would take the OpenAPI defaults on the way back. */
#include <stdbool.h>
#include <stdio.h>

#include <json-c/json.h>

#include "api/vmconfig.h"

#define MAX_QUEUES 64

/* Adds key=val to obj; a NULL val (out of memory) poisons *ok. */
static void put(struct json_object *obj, const char *key, struct json_object *val, bool *ok)
{
	if (!val || json_object_object_add(obj, key, val) != 0) {
		json_object_put(val);
		*ok = false;
	}
}

static void put_str(struct json_object *obj, const char *key, const char *s, bool *ok)
{
	if (s)
		put(obj, key, json_object_new_string(s), ok);
}

static void put_u64(struct json_object *obj, const char *key, uint64_t v, bool *ok)
{
	put(obj, key, json_object_new_uint64(v), ok);
}

static void put_bool(struct json_object *obj, const char *key, bool v, bool *ok)
{
	put(obj, key, json_object_new_boolean(v), ok);
}

/* "0: one per vCPU" becomes the number it means. */
static unsigned int resolved_queues(const struct vm_config *cfg, unsigned int queues)
{
	if (queues)
		return queues;
	return cfg->nr_cpus < MAX_QUEUES ? cfg->nr_cpus : MAX_QUEUES;
}

static struct json_object *emit_disks(const struct vm_config *cfg, bool *ok)
{
	struct json_object *arr = json_object_new_array();

	for (unsigned int i = 0; arr && i < cfg->nr_disks; i++) {
		const struct disk_config *d = &cfg->disks[i];
		struct json_object *o = json_object_new_object();

		if (!o || json_object_array_add(arr, o)) {
			json_object_put(o);
			*ok = false;
			break;
		}
		put_str(o, "path", d->path, ok);
		put_bool(o, "readonly", d->readonly, ok);
		put_bool(o, "direct", d->cache == DISK_CACHE_NONE, ok);
		put_u64(o, "num_queues", resolved_queues(cfg, d->queues), ok);
		if (d->serial[0])
			put_str(o, "serial", d->serial, ok);
		if (d->format_raw)
			put_str(o, "image_type", "Raw", ok);
	}
	return arr;
}

static struct json_object *emit_nets(const struct vm_config *cfg, bool *ok)
{
	struct json_object *arr = json_object_new_array();

	for (unsigned int i = 0; arr && i < cfg->nr_nets; i++) {
		const struct net_config *n = &cfg->nets[i];
		struct json_object *o = json_object_new_object();
		char mac[18];

		if (!o || json_object_array_add(arr, o)) {
			json_object_put(o);
			*ok = false;
			break;
		}
		if (n->tap)
			put_str(o, "tap", n->tap, ok);
		else
			put_u64(o, "fd", (uint64_t)n->fd, ok);
		/* Without one, the MAC is derived from the VM's name. */
		if (n->mac_set) {
			snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x", n->mac[0],
				 n->mac[1], n->mac[2], n->mac[3], n->mac[4], n->mac[5]);
			put_str(o, "mac", mac, ok);
		}
		put_u64(o, "num_queues", 2ULL * resolved_queues(cfg, n->queues), ok);
		put_u64(o, "rx_queue_size", n->rx_ring ? n->rx_ring : NET_RX_RING_DEFAULT, ok);
		put_u64(o, "tx_queue_size", n->tx_ring ? n->tx_ring : NET_TX_RING_DEFAULT, ok);
	}
	return arr;
}

static struct json_object *emit_shares(const struct vm_config *cfg, bool *ok)
{
	struct json_object *arr = json_object_new_array();

	for (unsigned int i = 0; arr && i < cfg->nr_shares; i++) {
		const struct share_config *s = &cfg->shares[i];
		struct json_object *o = json_object_new_object();

		if (!o || json_object_array_add(arr, o)) {
			json_object_put(o);
			*ok = false;
			break;
		}
		put_str(o, "path", s->path, ok);
		put_str(o, "tag", s->tag, ok);
		put_bool(o, "readonly", s->readonly, ok);
		put_str(o, "security", s->security == SHARE_MAPPED ? "mapped" : "passthrough", ok);
	}
	return arr;
}

static struct json_object *mode(const char *m)
{
	struct json_object *o = json_object_new_object();

	if (o && json_object_object_add(o, "mode", json_object_new_string(m))) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

static void emit_consoles(struct json_object *doc, const struct vm_config *cfg, bool *ok)
{
	static const char *const serial[] = {
		[CONSOLE_SERIAL] = "Tty", [CONSOLE_VIRTIO] = "Null",
		[CONSOLE_SOCKET] = "Socket", [CONSOLE_NONE] = "Null",
	};

	put(doc, "serial", mode(serial[cfg->console]), ok);
	put(doc, "console", mode(cfg->console == CONSOLE_VIRTIO ? "Tty" : "Off"), ok);
}

static struct json_object *emit_balloon(const struct balloon_config *b, bool *ok)
{
	struct json_object *o = json_object_new_object();

	if (!o)
		return NULL;
	put_u64(o, "size", b->size, ok);
	put_bool(o, "deflate_on_oom", b->deflate_on_oom, ok);
	put_bool(o, "free_page_reporting", b->free_page_reporting, ok);
	if (b->auto_size)
		put_bool(o, "auto", true, ok);
	/* 0 is "sardine's default", which leaving them out also means. */
	if (b->auto_margin)
		put_u64(o, "auto_margin", b->auto_margin, ok);
	if (b->auto_step_pct)
		put_u64(o, "auto_step_pct", b->auto_step_pct, ok);
	if (b->auto_pressure_pct)
		put_u64(o, "auto_pressure_pct", b->auto_pressure_pct, ok);
	return o;
}

struct json_object *vmconfig_to_json(const struct vm_config *cfg)
{
	struct json_object *doc = json_object_new_object();
	struct json_object *cpus = json_object_new_object();
	struct json_object *memory = json_object_new_object();
	struct json_object *payload = json_object_new_object();
	struct json_object *rng = NULL;
	bool ok = doc && cpus && memory && payload;

	if (!ok) {
		json_object_put(cpus);
		json_object_put(memory);
		json_object_put(payload);
		json_object_put(doc);
		return NULL;
	}
	put(doc, "cpus", cpus, &ok);
	put_u64(cpus, "boot_vcpus", cfg->nr_cpus, &ok);
	put_u64(cpus, "max_vcpus", cfg->nr_cpus, &ok);
	put(doc, "memory", memory, &ok);
	put_u64(memory, "size", cfg->mem_size, &ok);
	put_bool(memory, "mergeable", !cfg->no_merge, &ok);
	put(doc, "payload", payload, &ok);
	put_str(payload, "kernel", cfg->kernel, &ok);
	put_str(payload, "initramfs", cfg->initrd, &ok);
	put_str(payload, "cmdline", cfg->cmdline, &ok);
	if (cfg->nr_disks)
		put(doc, "disks", emit_disks(cfg, &ok), &ok);
	if (cfg->nr_nets)
		put(doc, "net", emit_nets(cfg, &ok), &ok);
	if (!cfg->no_rng) {
		rng = json_object_new_object();
		if (rng)
			put_str(rng, "src", "/dev/urandom", &ok);
		else
			ok = false;
	}
	/* sardine: null means no entropy device. */
	if (json_object_object_add(doc, "rng", rng))
		ok = false;
	if (cfg->balloon.enabled)
		put(doc, "balloon", emit_balloon(&cfg->balloon, &ok), &ok);
	emit_consoles(doc, cfg, &ok);
	if (cfg->nr_shares)
		put(doc, "shares", emit_shares(cfg, &ok), &ok);
	if (!ok) {
		json_object_put(doc);
		return NULL;
	}
	return doc;
}
