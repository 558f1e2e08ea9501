/* The memory side of the REST API without a VM: vm.resize's body and its
 * checks, routing and state rules of vm.resize / vm.balloon-stats, and the
 * process figures of vm.counters read from a made-up /proc/self. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include <json-c/json.h>

#include "api/api.h"
#include "api/memory.h"

static uint64_t parsed(const char *json)
{
	uint64_t bytes = 12345;
	char err[256] = "";

	if (resize_parse(json, strlen(json), &bytes, err, sizeof(err)))
		fail_msg("'%s' refused: %s", json, err);
	return bytes;
}

static void refused(const char *json, const char *msg)
{
	uint64_t bytes = 0;
	char err[256] = "";

	assert_int_equal(resize_parse(json, strlen(json), &bytes, err, sizeof(err)), -EINVAL);
	if (!strstr(err, msg))
		fail_msg("error '%s' does not say '%s'", err, msg);
}

static void resize_body_takes_desired_balloon(void **state)
{
	(void)state;
	assert_true(parsed("{\"desired_balloon\": 268435456}") == 256ULL << 20);
	assert_true(parsed("{\"desired_balloon\": 0}") == 0);
	/* cloud-hypervisor's clients write the fields they do not set as null. */
	assert_true(parsed("{\"desired_vcpus\": null, \"desired_ram\": null,"
			   " \"desired_balloon\": 4096}") == 4096);
	assert_true(parsed("{\"desired_balloon\": 18446744073709551615}") == UINT64_MAX);
}

static void resize_body_refuses_the_rest(void **state)
{
	(void)state;
	refused("", "a body is required");
	refused("{\"desired_balloon\": ", "not JSON");
	refused("{\"desired_balloon\": 1} x", "not JSON");
	refused("[1]", "must be an object");
	refused("{}", "'desired_balloon' is required");
	refused("{\"desired_balloon\": null}", "'desired_balloon' is required");
	refused("{\"desired_vcpus\": 2}", "desired_vcpus: not supported by sardine (only desired_balloon");
	refused("{\"desired_ram\": 1073741824, \"desired_balloon\": 0}", "desired_ram: not supported");
	refused("{\"desired_balloon\": -1}", "desired_balloon: must be a number of bytes");
	refused("{\"desired_balloon\": 1.5}", "must be a number of bytes");
	refused("{\"desired_balloon\": \"1G\"}", "must be a number of bytes");
	refused("{\"desired_balloon\": 1, \"frobnicate\": 1}", "frobnicate: unknown field");
}

static unsigned int check(const struct vm_config *cfg, uint64_t bytes, const char *msg)
{
	char err[256] = "";
	unsigned int status = resize_check(cfg, bytes, err, sizeof(err));

	if (msg && !strstr(err, msg))
		fail_msg("error '%s' does not say '%s'", err, msg);
	return status;
}

static void resize_needs_a_hand_sized_balloon_smaller_than_ram(void **state)
{
	struct vm_config cfg;

	(void)state;
	config_init_defaults(&cfg);
	cfg.mem_size = 256ULL << 20;
	assert_int_equal(check(&cfg, 0, "no balloon device"), 409);
	cfg.balloon.enabled = true;
	assert_int_equal(check(&cfg, 0, NULL), 0);
	assert_int_equal(check(&cfg, (256ULL << 20) - 4096, NULL), 0);
	assert_int_equal(check(&cfg, 256ULL << 20, "smaller than the guest's memory"), 400);
	assert_int_equal(check(&cfg, UINT64_MAX, "smaller than"), 400);
	cfg.balloon.auto_size = true;
	assert_int_equal(check(&cfg, 0, "sized automatically"), 409);
	config_free(&cfg);
}

static void resize_of_a_vm_not_booted_sets_the_next_boot(void **state)
{
	struct api_response resp = { 0 };
	struct vm_config cfg;

	(void)state;
	config_init_defaults(&cfg);
	cfg.mem_size = 256ULL << 20;
	cfg.balloon.enabled = true;
	api_resize(&cfg, NULL, (64ULL << 20) + 100, &resp);
	assert_int_equal(resp.status, 204);
	assert_true(cfg.balloon.size == 64ULL << 20); /* whole 4 KiB pages */
	api_resize(&cfg, NULL, 256ULL << 20, &resp);
	assert_int_equal(resp.status, 400);
	assert_non_null(strstr(resp.body, "vm.resize: desired_balloon"));
	assert_true(cfg.balloon.size == 64ULL << 20); /* unchanged */
	api_response_free(&resp);
	config_free(&cfg);
}

static void routing_of_resize_and_balloon_stats(void **state)
{
	struct api_response resp = { 0 };
	struct api_call call;
	const char *body = "{\"desired_balloon\": 8388608}";

	(void)state;
	assert_int_equal(api_route("PUT", "/api/v1/vm.resize", body, strlen(body), &call, &resp), 0);
	assert_int_equal(call.ep, API_VM_RESIZE);
	assert_true(call.desired_balloon == 8ULL << 20);
	api_call_free(&call);
	assert_int_equal(api_route("PUT", "/api/v1/vm.resize", "{\"desired_vcpus\": 4}", 20, &call,
				   &resp), -EINVAL);
	assert_int_equal(resp.status, 400);
	assert_non_null(strstr(resp.body, "only desired_balloon"));
	assert_int_equal(api_route("GET", "/api/v1/vm.resize", "", 0, &call, &resp), -EINVAL);
	assert_int_equal(resp.status, 405);
	assert_int_equal(api_route("GET", "/api/v1/vm.balloon-stats", "", 0, &call, &resp), 0);
	assert_int_equal(call.ep, API_VM_BALLOON_STATS);
	assert_int_equal(api_route("GET", "/api/v1/vm.balloon-stats", "{}", 2, &call, &resp),
			 -EINVAL);
	assert_int_equal(resp.status, 400);
	/* Still missing: named as cloud-hypervisor's. */
	assert_int_equal(api_route("PUT", "/api/v1/vm.resize-disk", "", 0, &call, &resp), -EINVAL);
	assert_int_equal(resp.status, 404);
	assert_non_null(strstr(resp.body, "does not implement"));
	api_response_free(&resp);
}

/* ---- vm.counters "memory" from a made-up /proc/self */

static void write_file(const char *dir, const char *name, const char *text)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static int64_t num(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v))
		fail_msg("no %s in %s", key, json_object_to_json_string(o));
	return json_object_get_int64(v);
}

static bool has(struct json_object *o, const char *key)
{
	return json_object_object_get_ex(o, key, NULL);
}

static void process_memory_from_proc(void **state)
{
	char dir[] = "/tmp/sardine-unit-proc.XXXXXX", path[128];
	struct json_object *o;

	(void)state;
	assert_non_null(mkdtemp(dir));
	write_file(dir, "status", "Name:\tsardine\nVmPeak:\t  999 kB\nVmRSS:\t  204800 kB\n"
				  "RssAnon:\t  150000 kB\nRssFile:\t 54800 kB\nRssShmem:\t 0 kB\n"
				  "VmSwap:\t 12 kB\nThreads:\t5\n");
	write_file(dir, "ksm_merging_pages", "1234\n");
	write_file(dir, "ksm_stat", "ksm_rmap_items 5000\nksm_zero_pages 7\n"
				    "ksm_merging_pages 1300\nksm_process_profit -20000\n"
				    "ksm_merge_any: no\nksm_mergeable: yes\n");
	o = report_process_memory(dir);
	assert_non_null(o);
	assert_true(num(o, "rss_bytes") == 204800LL * 1024);
	assert_true(num(o, "rss_anon_bytes") == 150000LL * 1024);
	assert_true(num(o, "rss_file_bytes") == 54800LL * 1024);
	assert_true(num(o, "rss_shmem_bytes") == 0);
	assert_true(num(o, "swap_bytes") == 12 * 1024);
	assert_true(num(o, "ksm_merging_pages") == 1300); /* ksm_stat's is the later read */
	assert_true(num(o, "ksm_rmap_items") == 5000);
	assert_true(num(o, "ksm_zero_pages") == 7);
	assert_true(num(o, "ksm_process_profit") == -20000);
	json_object_put(o);

	/* An older kernel: no ksm_stat, no RssShmem; nothing is an error. */
	write_file(dir, "status", "VmRSS:\t 100 kB\n");
	snprintf(path, sizeof(path), "%s/ksm_stat", dir);
	assert_int_equal(unlink(path), 0);
	o = report_process_memory(dir);
	assert_non_null(o);
	assert_true(num(o, "rss_bytes") == 100 * 1024);
	assert_true(num(o, "ksm_merging_pages") == 1234);
	assert_false(has(o, "ksm_process_profit"));
	assert_false(has(o, "rss_shmem_bytes"));
	json_object_put(o);

	/* No /proc at all: an empty object. */
	o = report_process_memory("/nonexistent");
	assert_non_null(o);
	assert_int_equal(json_object_object_length(o), 0);
	json_object_put(o);
	for (const char *const *f = (const char *const[]){ "status", "ksm_merging_pages", NULL };
	     *f; f++) {
		snprintf(path, sizeof(path), "%s/%s", dir, *f);
		unlink(path);
	}
	assert_int_equal(rmdir(dir), 0);
}

static void process_memory_of_this_process(void **state)
{
	struct json_object *o = report_process_memory("/proc/self");

	(void)state;
	assert_non_null(o);
	assert_true(num(o, "rss_bytes") > 0);
	json_object_put(o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(resize_body_takes_desired_balloon),
		cmocka_unit_test(resize_body_refuses_the_rest),
		cmocka_unit_test(resize_needs_a_hand_sized_balloon_smaller_than_ram),
		cmocka_unit_test(resize_of_a_vm_not_booted_sets_the_next_boot),
		cmocka_unit_test(routing_of_resize_and_balloon_stats),
		cmocka_unit_test(process_memory_from_proc),
		cmocka_unit_test(process_memory_of_this_process),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
