/* vm.resize, vm.balloon-stats and the memory figures of vm.info and
 * vm.counters (see api/memory.h). */
#include "api/memory.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "api/api.h"
#include "virtio/balloon.h"
#include "virtio/virtio.h"
#include "vmm/config.h"
#include "vmm/vm.h"

#define JSON_MAX_DEPTH 16
#define BALLOON_PAGE 4096ULL

/* ---- vm.resize: parsing and checks (pure) */

/* JSON text -> *doc (NULL for "null"); -EINVAL with err for anything else. */
static int parse_strict(const char *text, size_t len, struct json_object **doc, char *err,
			size_t errlen)
{
	struct json_tokener *tok = json_tokener_new_ex(JSON_MAX_DEPTH);
	enum json_tokener_error jerr;
	int ret = 0;

	*doc = NULL;
	if (!tok) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	*doc = json_tokener_parse_ex(tok, text, (int)(len > INT_MAX ? INT_MAX : len));
	jerr = json_tokener_get_error(tok);
	if (jerr != json_tokener_success || json_tokener_get_parse_end(tok) != len) {
		snprintf(err, errlen, "not JSON: %s at byte %zu",
			 jerr == json_tokener_continue ? "the document ends early" :
			 jerr == json_tokener_success ? "trailing data" :
							json_tokener_error_desc(jerr),
			 json_tokener_get_parse_end(tok));
		json_object_put(*doc);
		*doc = NULL;
		ret = -EINVAL;
	}
	json_tokener_free(tok);
	return ret;
}

static int resize_field(const char *key, struct json_object *v, uint64_t *bytes, bool *have,
			char *err, size_t errlen)
{
	if (strcmp(key, "desired_vcpus") == 0 || strcmp(key, "desired_ram") == 0) {
		if (!v)
			return 0; /* null: not asked for */
		snprintf(err, errlen, "%s: not supported by sardine (only desired_balloon is: no CPU or memory hot-plug)",
			 key);
		return -EINVAL;
	}
	if (strcmp(key, "desired_balloon") != 0) {
		snprintf(err, errlen, "%.64s: unknown field", key);
		return -EINVAL;
	}
	if (!v)
		return 0;
	if (!json_object_is_type(v, json_type_int) || json_object_get_int64(v) < 0) {
		snprintf(err, errlen, "desired_balloon: must be a number of bytes (an integer, 0 or more)");
		return -EINVAL;
	}
	*bytes = json_object_get_uint64(v);
	*have = true;
	return 0;
}

int resize_parse(const char *body, size_t len, uint64_t *desired_balloon, char *err,
		 size_t errlen)
{
	struct json_object *doc;
	bool have = false;
	int ret;

	if (len == 0) {
		snprintf(err, errlen, "a body is required: {\"desired_balloon\": BYTES}");
		return -EINVAL;
	}
	ret = parse_strict(body, len, &doc, err, errlen);
	if (ret)
		return -EINVAL;
	if (!json_object_is_type(doc, json_type_object)) {
		snprintf(err, errlen, "the body must be an object: {\"desired_balloon\": BYTES}");
		ret = -EINVAL;
	}
	if (!ret) {
		json_object_object_foreach(doc, key, v)
		{
			ret = resize_field(key, v, desired_balloon, &have, err, errlen);
			if (ret)
				break;
		}
	}
	if (!ret && !have) {
		snprintf(err, errlen, "'desired_balloon' is required (the only resize sardine does)");
		ret = -EINVAL;
	}
	json_object_put(doc);
	return ret;
}

unsigned int resize_check(const struct vm_config *cfg, uint64_t bytes, char *err, size_t errlen)
{
	if (!cfg->balloon.enabled) {
		snprintf(err, errlen, "the VM has no balloon device (give it one: VmConfig \"balloon\", or --balloon on)");
		return 409;
	}
	if (cfg->balloon.auto_size) {
		snprintf(err, errlen, "the balloon is sized automatically (balloon \"auto\", --balloon auto); boot the VM without auto to size it by hand");
		return 409;
	}
	if (bytes >= cfg->mem_size) {
		snprintf(err, errlen, "desired_balloon %llu must be smaller than the guest's memory (%llu bytes)",
			 (unsigned long long)bytes, (unsigned long long)cfg->mem_size);
		return 400;
	}
	return 0;
}

/* ---- on the control thread */

struct virtio_dev *vm_balloon(struct vm *vm)
{
	for (unsigned int i = 0; vm && i < vm->nr_virtio; i++)
		if (virtio_is_balloon(vm->virtio[i]))
			return vm->virtio[i];
	return NULL;
}

void api_resize(struct vm_config *cfg, struct vm *vm, uint64_t bytes, struct api_response *resp)
{
	struct virtio_dev *d = vm_balloon(vm);
	unsigned int status;
	char err[256];

	bytes &= ~(BALLOON_PAGE - 1);
	status = resize_check(cfg, bytes, err, sizeof(err));
	if (status) {
		api_error(resp, status, "vm.resize: %s", err);
		return;
	}
	if (vm && (!d || virtio_balloon_set_target(d, bytes))) {
		api_error(resp, 500, "vm.resize: the balloon device refused the new size");
		return;
	}
	cfg->balloon.size = bytes; /* the next boot starts from it */
	api_reply(resp, 204, NULL);
}

static bool put(struct json_object *o, const char *key, struct json_object *v)
{
	if (!v || json_object_object_add(o, key, v)) {
		json_object_put(v);
		return false;
	}
	return true;
}

static bool put_u64(struct json_object *o, const char *key, uint64_t v)
{
	return put(o, key, json_object_new_uint64(v));
}

static struct json_object *guest_stats(const struct balloon_info *bi)
{
	struct json_object *o = json_object_new_object();

	for (int s = 0; o && s < BALLOON_NR_STATS; s++) {
		const char *name = balloon_stat_name((enum balloon_stat)s);
		bool ok = bi->stats[s] < 0 ? json_object_object_add(o, name, NULL) == 0 :
					     put(o, name, json_object_new_int64(bi->stats[s]));

		if (!ok) {
			json_object_put(o);
			return NULL;
		}
	}
	return o;
}

static struct json_object *features(struct virtio_dev *d, const struct balloon_info *bi)
{
	struct json_object *o = json_object_new_object();
	bool driver_ok = __atomic_load_n(&d->status, __ATOMIC_ACQUIRE) & VIRTIO_STATUS_DRIVER_OK;

	if (o && !(put(o, "driver_ok", json_object_new_boolean(driver_ok)) &&
		   put(o, "stats_queue", json_object_new_boolean(bi->stats_queue)) &&
		   put(o, "deflate_on_oom", json_object_new_boolean(bi->deflate_on_oom)) &&
		   put(o, "free_page_reporting", json_object_new_boolean(bi->free_page_reporting)))) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

static struct json_object *balloon_stats_json(const struct vm_config *cfg, struct virtio_dev *d)
{
	struct json_object *doc = json_object_new_object();
	struct balloon_info bi;
	bool ok;

	virtio_balloon_info(d, &bi);
	ok = doc && put_u64(doc, "target_bytes", bi.target_bytes) &&
	     put_u64(doc, "actual_bytes", bi.actual_bytes) &&
	     put_u64(doc, "memory_actual_size",
		     cfg->mem_size > bi.actual_bytes ? cfg->mem_size - bi.actual_bytes : 0) &&
	     put(doc, "auto", json_object_new_boolean(cfg->balloon.auto_size)) &&
	     (bi.stats_age_ms == UINT64_MAX ? json_object_object_add(doc, "stats_age_ms", NULL) == 0
					    : put_u64(doc, "stats_age_ms", bi.stats_age_ms)) &&
	     put(doc, "stats", guest_stats(&bi)) &&
	     put_u64(doc, "inflated_pages", bi.inflated_pages) &&
	     put_u64(doc, "deflated_pages", bi.deflated_pages) &&
	     put_u64(doc, "reported_bytes", bi.reported_bytes) &&
	     put(doc, "features", features(d, &bi));
	if (!ok) {
		json_object_put(doc);
		return NULL;
	}
	return doc;
}

void api_balloon_stats(const struct vm_config *cfg, struct vm *vm, struct api_response *resp)
{
	struct virtio_dev *d = vm_balloon(vm);
	struct json_object *doc;
	char *text = NULL;

	if (!d) {
		api_error(resp, 409, "vm.balloon-stats: the VM has no balloon device (give it one: VmConfig \"balloon\", or --balloon on)");
		return;
	}
	doc = balloon_stats_json(cfg, d);
	if (doc)
		text = strdup(json_object_to_json_string_ext(
			doc, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(doc);
	if (text)
		api_reply(resp, 200, text);
	else
		api_error(resp, 500, "out of memory");
}

void report_info_memory(struct json_object *info, const struct vm_config *cfg, struct vm *vm)
{
	struct virtio_dev *d = vm_balloon(vm);
	struct json_object *o;
	struct balloon_info bi;

	if (!d)
		return; /* memory_actual_size stays the configured size */
	virtio_balloon_info(d, &bi);
	put_u64(info, "memory_actual_size",
		cfg->mem_size > bi.actual_bytes ? cfg->mem_size - bi.actual_bytes : 0);
	o = json_object_new_object();
	if (o && !(put_u64(o, "target_bytes", bi.target_bytes) &&
		   put_u64(o, "actual_bytes", bi.actual_bytes))) {
		json_object_put(o);
		return;
	}
	put(info, "balloon", o);
}

void report_balloon_counters(struct json_object *dev, struct virtio_dev *d)
{
	struct balloon_info bi;

	virtio_balloon_info(d, &bi);
	put_u64(dev, "target_bytes", bi.target_bytes);
	put_u64(dev, "actual_bytes", bi.actual_bytes);
	put_u64(dev, "inflated_pages", bi.inflated_pages);
	put_u64(dev, "deflated_pages", bi.deflated_pages);
	put_u64(dev, "reported_bytes", bi.reported_bytes);
}

/* ---- the VMM process: RSS and KSM, from /proc */

struct proc_field {
	const char *file;  /* under proc_dir */
	const char *name;  /* the line's key ("" : the whole file is one number) */
	const char *key;   /* in the JSON */
	long long scale;   /* the file's unit, in bytes (1: a count) */
};

static const struct proc_field proc_fields[] = {
	{ "status", "VmRSS:", "rss_bytes", 1024 },
	{ "status", "RssAnon:", "rss_anon_bytes", 1024 },
	{ "status", "RssFile:", "rss_file_bytes", 1024 },
	{ "status", "RssShmem:", "rss_shmem_bytes", 1024 },
	{ "status", "VmSwap:", "swap_bytes", 1024 },
	{ "ksm_merging_pages", "", "ksm_merging_pages", 1 },
	/* Linux 6.1+; its ksm_merging_pages is the same number as above. */
	{ "ksm_stat", "ksm_rmap_items", "ksm_rmap_items", 1 },
	{ "ksm_stat", "ksm_zero_pages", "ksm_zero_pages", 1 },
	{ "ksm_stat", "ksm_merging_pages", "ksm_merging_pages", 1 },
	{ "ksm_stat", "ksm_process_profit", "ksm_process_profit", 1 }, /* bytes; may be < 0 */
};

/* The number after `name` on its line of text ("" : the first number). */
static bool find_number(const char *text, const char *name, long long *out)
{
	size_t n = strlen(name);
	const char *p = text;
	char *end;

	while (n && p) {
		if (strncmp(p, name, n) == 0 && (p[n] == ' ' || p[n] == '\t' || name[n - 1] == ':'))
			break;
		p = strchr(p, '\n');
		p = p ? p + 1 : NULL;
	}
	if (!p)
		return false;
	errno = 0;
	*out = strtoll(p + n, &end, 10);
	return end != p + n && errno == 0;
}

static char *read_small(const char *dir, const char *file)
{
	char path[256], *buf;
	size_t n;
	FILE *f;

	if (snprintf(path, sizeof(path), "%s/%s", dir, file) >= (int)sizeof(path))
		return NULL;
	f = fopen(path, "re");
	if (!f)
		return NULL;
	buf = malloc(8192);
	n = buf ? fread(buf, 1, 8191, f) : 0;
	fclose(f);
	if (buf)
		buf[n] = '\0';
	return buf;
}

struct json_object *report_process_memory(const char *proc_dir)
{
	struct json_object *o = json_object_new_object();
	const char *loaded = NULL;
	char *text = NULL;

	for (size_t i = 0; o && i < sizeof(proc_fields) / sizeof(proc_fields[0]); i++) {
		const struct proc_field *f = &proc_fields[i];
		long long v;

		if (!loaded || strcmp(loaded, f->file) != 0) {
			free(text);
			text = read_small(proc_dir, f->file);
			loaded = f->file;
		}
		if (!text || !find_number(text, f->name, &v) || (v < 0 && f->scale != 1))
			continue; /* not on this kernel: left out */
		if (!put(o, f->key, json_object_new_int64(v * f->scale))) {
			json_object_put(o);
			o = NULL;
		}
	}
	free(text);
	return o;
}
