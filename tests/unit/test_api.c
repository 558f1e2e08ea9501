/* The REST API without sockets: VmConfig JSON <-> vm_config, routing, and
 * the VM state rules. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <json-c/json.h>

#include "api/api.h"
#include "api/vmconfig.h"

static const char full_config[] =
	"{\"cpus\": {\"boot_vcpus\": 4, \"max_vcpus\": 4, \"kvm_hyperv\": false},"
	" \"memory\": {\"size\": 1073741824, \"mergeable\": true, \"thp\": true},"
	" \"payload\": {\"kernel\": \"/k\", \"initramfs\": \"/i\", \"cmdline\": \"console=ttyS0 x\"},"
	" \"disks\": [{\"path\": \"/d0\", \"readonly\": true, \"direct\": true, \"num_queues\": 2,"
	"              \"serial\": \"SER1\", \"iommu\": false, \"vhost_socket\": null},"
	"            {\"path\": \"/d1\", \"image_type\": \"Raw\"}],"
	" \"net\": [{\"tap\": \"tap0\", \"mac\": \"52:54:00:12:34:56\", \"num_queues\": 4}],"
	" \"balloon\": {\"size\": 268435456, \"deflate_on_oom\": true, \"auto\": true,"
	"             \"auto_margin\": 67108864, \"auto_step_pct\": 10, \"auto_pressure_pct\": 20},"
	" \"serial\": {\"mode\": \"Socket\"}, \"console\": {\"mode\": \"Off\"},"
	" \"rng\": null,"
	" \"shares\": [{\"path\": \"/srv\", \"tag\": \"data\", \"readonly\": true,"
	"              \"security\": \"mapped\"}]}";

/* Parses, expecting failure with msg in the error. */
static void refused(const char *json, const char *msg)
{
	struct vm_config cfg;
	char err[256] = "";

	assert_int_equal(vmconfig_parse(json, strlen(json), &cfg, err, sizeof(err)), -EINVAL);
	if (!strstr(err, msg))
		fail_msg("error '%s' does not say '%s'", err, msg);
	assert_int_equal(cfg.nr_disks, 0); /* left empty */
}

static void minimal_config_takes_openapi_defaults(void **state)
{
	const char *json = "{\"payload\": {\"kernel\": \"/boot/vmlinux\"}}";
	struct vm_config cfg;
	char err[256];

	(void)state;
	assert_int_equal(vmconfig_parse(json, strlen(json), &cfg, err, sizeof(err)), 0);
	assert_string_equal(cfg.kernel, "/boot/vmlinux");
	assert_null(cfg.initrd);
	assert_true(cfg.mem_size == 512ULL << 20);
	assert_int_equal(cfg.nr_cpus, 1);
	assert_true(cfg.no_merge);
	assert_false(cfg.no_rng);
	assert_int_equal(cfg.console, CONSOLE_VIRTIO); /* serial Null, console Tty */
	assert_false(cfg.balloon.enabled);
	config_free(&cfg);
}

static void full_config_maps_every_field(void **state)
{
	struct vm_config cfg;
	char err[256];

	(void)state;
	assert_int_equal(vmconfig_parse(full_config, strlen(full_config), &cfg, err, sizeof(err)), 0);
	assert_int_equal(cfg.nr_cpus, 4);
	assert_true(cfg.mem_size == 1ULL << 30);
	assert_false(cfg.no_merge);
	assert_string_equal(cfg.initrd, "/i");
	assert_string_equal(cfg.cmdline, "console=ttyS0 x");
	assert_int_equal(cfg.nr_disks, 2);
	assert_true(cfg.disks[0].readonly);
	assert_int_equal(cfg.disks[0].cache, DISK_CACHE_NONE);
	assert_int_equal(cfg.disks[0].queues, 2);
	assert_string_equal(cfg.disks[0].serial, "SER1");
	assert_int_equal(cfg.disks[1].queues, 1); /* the OpenAPI default */
	assert_int_equal(cfg.disks[1].cache, DISK_CACHE_WRITEBACK);
	assert_false(cfg.disks[0].format_raw);
	assert_true(cfg.disks[1].format_raw); /* image_type "Raw": no format probing */
	assert_int_equal(cfg.nr_nets, 1);
	assert_string_equal(cfg.nets[0].tap, "tap0");
	assert_int_equal(cfg.nets[0].fd, -1);
	assert_true(cfg.nets[0].mac_set);
	assert_int_equal(cfg.nets[0].mac[5], 0x56);
	assert_int_equal(cfg.nets[0].queues, 2); /* 4 queues = 2 pairs */
	assert_true(cfg.balloon.enabled);
	assert_true(cfg.balloon.size == 256ULL << 20);
	assert_true(cfg.balloon.deflate_on_oom);
	assert_false(cfg.balloon.free_page_reporting);
	assert_true(cfg.balloon.auto_size);
	assert_true(cfg.balloon.auto_margin == 64ULL << 20);
	assert_int_equal(cfg.balloon.auto_step_pct, 10);
	assert_int_equal(cfg.balloon.auto_pressure_pct, 20);
	assert_int_equal(cfg.console, CONSOLE_SOCKET);
	assert_true(cfg.no_rng);
	assert_int_equal(cfg.nr_shares, 1);
	assert_string_equal(cfg.shares[0].tag, "data");
	assert_int_equal(cfg.shares[0].security, SHARE_MAPPED);
	config_free(&cfg);
}

static char *emit(const struct vm_config *cfg)
{
	struct json_object *doc = vmconfig_to_json(cfg);
	char *text;

	assert_non_null(doc);
	text = strdup(json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PLAIN));
	json_object_put(doc);
	return text;
}

static void emitted_config_parses_back_the_same(void **state)
{
	struct vm_config a, b;
	char err[256], *first, *second;

	(void)state;
	assert_int_equal(vmconfig_parse(full_config, strlen(full_config), &a, err, sizeof(err)), 0);
	first = emit(&a);
	assert_int_equal(vmconfig_parse(first, strlen(first), &b, err, sizeof(err)), 0);
	second = emit(&b);
	assert_string_equal(first, second);
	free(first);
	free(second);
	config_free(&a);
	config_free(&b);
}

/* A configuration from the command line: sardine's defaults (one queue
 * per vCPU, KSM on) come out as explicit values. */
static void command_line_config_is_resolved(void **state)
{
	struct vm_config cfg, back;
	char err[256], *text;

	(void)state;
	config_init_defaults(&cfg);
	cfg.nr_cpus = 3;
	cfg.kernel = strdup("/k");
	assert_int_equal(config_add_disk(&cfg, "/img", err, sizeof(err)), 0);
	assert_int_equal(config_add_net(&cfg, "fd=7", err, sizeof(err)), 0);
	text = emit(&cfg);
	assert_non_null(strstr(text, "\"num_queues\":3"));
	assert_non_null(strstr(text, "\"num_queues\":6"));
	assert_non_null(strstr(text, "\"fd\":7"));
	assert_non_null(strstr(text, "\"serial\":{\"mode\":\"Tty\"}"));
	assert_int_equal(vmconfig_parse(text, strlen(text), &back, err, sizeof(err)), 0);
	assert_false(back.no_merge);
	assert_int_equal(back.console, CONSOLE_SERIAL);
	assert_int_equal(back.disks[0].queues, 3);
	assert_int_equal(back.nets[0].fd, 7);
	assert_int_equal(back.nets[0].queues, 3);
	assert_int_equal(back.nets[0].rx_ring, NET_RX_RING_DEFAULT);
	assert_int_equal(back.nets[0].tx_ring, NET_TX_RING_DEFAULT);
	free(text);
	config_free(&cfg);
	config_free(&back);
}

/* Ring sizes: QEMU's names on the command line, cloud-hypervisor's one
 * queue_size or sardine's two in VmConfig; powers of two in 256..1024. */
static void net_ring_sizes(void **state)
{
	const char *ch = "{\"payload\": {\"kernel\": \"/k\"}, \"net\": [{\"tap\": \"t\","
			 " \"queue_size\": 512}, {\"tap\": \"u\", \"rx_queue_size\": 256}]}";
	struct vm_config cfg;
	char err[256] = "";

	(void)state;
	config_init_defaults(&cfg);
	assert_int_equal(config_add_net(&cfg, "tap=t0,rx_queue_size=512,tx_queue_size=1024", err,
					sizeof(err)), 0);
	assert_int_equal(cfg.nets[0].rx_ring, 512);
	assert_int_equal(cfg.nets[0].tx_ring, 1024);
	assert_int_equal(config_add_net(&cfg, "tap=t1", err, sizeof(err)), 0);
	assert_int_equal(cfg.nets[1].rx_ring, 0); /* the device's default */
	assert_int_equal(config_add_net(&cfg, "tap=t2,rx_queue_size=384", err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "rx_queue_size=384 is not a power of two from 256 to 1024"));
	assert_int_equal(config_add_net(&cfg, "tap=t2,tx_queue_size=2048", err, sizeof(err)),
			 -EINVAL);
	assert_int_equal(config_add_net(&cfg, "tap=t2,rx_queue_size=128", err, sizeof(err)),
			 -EINVAL);
	assert_int_equal(cfg.nr_nets, 2);
	config_free(&cfg);

	assert_int_equal(vmconfig_parse(ch, strlen(ch), &cfg, err, sizeof(err)), 0);
	assert_int_equal(cfg.nets[0].rx_ring, 512);
	assert_int_equal(cfg.nets[0].tx_ring, 512);
	assert_int_equal(cfg.nets[1].rx_ring, 256);
	assert_int_equal(cfg.nets[1].tx_ring, 0);
	config_free(&cfg);
	refused("{\"payload\": {\"kernel\": \"/k\"}, \"net\": [{\"tap\": \"t\","
		" \"queue_size\": 300}]}", "net[0].queue_size: must be a power of two");
	refused("{\"payload\": {\"kernel\": \"/k\"}, \"net\": [{\"tap\": \"t\","
		" \"rx_queue_size\": 4096}]}", "net[0].rx_queue_size: 4096 is out of range");
}

static void unsupported_fields_are_refused_by_path(void **state)
{
	(void)state;
	refused("{\"payload\": {\"kernel\": \"/k\"}, \"disks\": [{\"path\": \"/d\","
		" \"rate_limiter_config\": {}}]}",
		"disks[0].rate_limiter_config: not supported by sardine");
	refused("{\"payload\": {\"kernel\": \"/k\"}, \"iommu\": true}",
		"iommu: not supported by sardine (only false");
	refused("{\"payload\": {\"kernel\": \"/k\"}, \"frobnicate\": 1}", "frobnicate: unknown field");
	refused("{\"payload\": {\"kernel\": \"/k\"}, \"fs\": [{\"tag\": \"x\", \"socket\": \"/s\","
		" \"num_queues\": 1, \"queue_size\": 1024}]}",
		"over 9p with 'shares'");
	refused("{\"payload\": {\"firmware\": \"/fw\", \"kernel\": \"/k\"}}",
		"payload.firmware: not supported");
	refused("{\"payload\": {\"kernel\": \"/k\"}, \"net\": [{\"tap\": \"t\", \"mtu\": 9000}]}",
		"net[0].mtu");
	refused("{\"payload\": {\"kernel\": \"/k\"}, \"disks\": [{\"path\": \"/d\", \"image_type\": \"Qcow2\"}]}",
		"disks[0].image_type: not supported by sardine (only \"Raw\")");
	refused("{\"payload\": {\"kernel\": \"/k\"}, \"memory\": {\"size\": 536870912,"
		" \"hugepages\": true}}",
		"memory.hugepages");
}

static void defaults_and_nulls_are_accepted(void **state)
{
	const char *json =
		"{\"payload\": {\"kernel\": \"/k\", \"firmware\": null},"
		" \"cpus\": {\"boot_vcpus\": 2, \"max_vcpus\": 2, \"topology\": null,"
		"          \"features\": {\"amx\": false}, \"nested\": true},"
		" \"iommu\": false, \"watchdog\": false, \"pmem\": [], \"vsock\": null,"
		" \"platform\": {\"num_pci_segments\": 1, \"tdx\": false},"
		" \"disks\": [{\"path\": \"/d\", \"queue_size\": 128, \"image_type\": \"Raw\","
		"             \"id\": null}],"
		" \"debug_console\": {\"mode\": \"Off\"}}";
	struct vm_config cfg;
	char err[256];

	(void)state;
	assert_int_equal(vmconfig_parse(json, strlen(json), &cfg, err, sizeof(err)), 0);
	assert_int_equal(cfg.nr_cpus, 2);
	assert_int_equal(cfg.nr_disks, 1);
	config_free(&cfg);
}

static void bad_values_are_refused(void **state)
{
	(void)state;
	refused("", "not JSON");
	refused("{\"payload\": {\"kernel\": \"/k\"}", "ends early");
	refused("{\"payload\": {\"kernel\": \"/k\"}} trailing", "not JSON");
	refused("[1, 2]", "must be an object");
	refused("{}", "'payload' is required");
	refused("{\"payload\": {}}", "payload: 'kernel' is required");
	refused("{\"payload\": {\"kernel\": \"\"}}", "payload.kernel: must not be empty");
	refused("{\"payload\": {\"kernel\": 5}}", "payload.kernel: must be a string");
	refused("{\"payload\": {\"kernel\": \"/k\\u0000x\"}}", "NUL");
	refused("{\"payload\": {\"kernel\": \"/k\"}, \"cpus\": {\"boot_vcpus\": 0}}",
		"cpus.boot_vcpus: 0 is out of range");
	refused("{\"payload\": {\"kernel\": \"/k\"}, \"cpus\": {\"boot_vcpus\": 2, \"max_vcpus\": 4}}",
		"no CPU hot-plug");
	refused("{\"payload\": {\"kernel\": \"/k\"}, \"cpus\": {\"boot_vcpus\": 1.5}}",
		"must be an integer");
	refused("{\"payload\": {\"kernel\": \"/k\"}, \"memory\": {\"size\": -1}}", "negative");
	refused("{\"payload\": {\"kernel\": \"/k\"}, \"memory\": {\"size\": 536870913}}",
		"multiple of 4096");
	refused("{\"payload\": {\"kernel\": \"/k\"}, \"memory\": {\"size\": 18446744073709551615}}",
		"out of range");
	refused("{\"payload\": {\"kernel\": \"/k\"}, \"memory\": {\"mergeable\": \"yes\"}}",
		"true or false");
	refused("{\"payload\": {\"kernel\": \"/k\"}, \"net\": [{\"mac\": \"52:54:00:00:00:01\"}]}",
		"exactly one of 'tap'");
	refused("{\"payload\": {\"kernel\": \"/k\"}, \"net\": [{\"tap\": \"t\", \"num_queues\": 3}]}",
		"must be even");
	refused("{\"payload\": {\"kernel\": \"/k\"}, \"net\": [{\"tap\": \"t\", \"mac\": \"01:00:00:00:00:00\"}]}",
		"unicast");
	refused("{\"payload\": {\"kernel\": \"/k\"}, \"serial\": {\"mode\": \"Tty\"}}",
		"sardine has one console");
	refused("{\"payload\": {\"kernel\": \"/k\"}, \"serial\": {\"mode\": \"Pty\"}, "
		"\"console\": {\"mode\": \"Off\"}}",
		"serial.mode: Pty is not supported");
	refused("{\"payload\": {\"kernel\": \"/k\"}, \"balloon\": {\"size\": 1073741824}}",
		"smaller than memory.size");
	refused("{\"payload\": {\"kernel\": \"/k\"}, \"shares\": [{\"path\": \"/a\", \"tag\": \"t\"},"
		" {\"path\": \"/b\", \"tag\": \"t\"}]}",
		"used twice");
	refused("{\"payload\": {\"kernel\": \"/k\"}, \"disks\": [{}, {}, {}]}", "disks[0]: 'path'");
}

static void routing(void **state)
{
	struct api_call call;
	struct api_response resp = { 0 };
	const char *cfg = "{\"payload\": {\"kernel\": \"/k\"}}";

	(void)state;
	assert_int_equal(api_route("GET", "/api/v1/vmm.ping", "", 0, &call, &resp), 0);
	assert_int_equal(call.ep, API_VMM_PING);
	assert_int_equal(api_route("PUT", "/api/v1/vm.create", cfg, strlen(cfg), &call, &resp), 0);
	assert_int_equal(call.ep, API_VM_CREATE);
	assert_non_null(call.cfg);
	assert_string_equal(call.cfg->kernel, "/k");
	api_call_free(&call);
	assert_null(call.cfg);

	assert_int_equal(api_route("PUT", "/api/v1/vmm.ping", "", 0, &call, &resp), -EINVAL);
	assert_int_equal(resp.status, 405);
	assert_int_equal(api_route("GET", "/api/v1/vm.frobnicate", "", 0, &call, &resp), -EINVAL);
	assert_int_equal(resp.status, 404);
	assert_int_equal(api_route("PUT", "/api/v1/vm.snapshot", "", 0, &call, &resp), -EINVAL);
	assert_int_equal(resp.status, 404);
	assert_non_null(strstr(resp.body, "does not implement"));
	assert_int_equal(api_route("GET", "/vmm.ping", "", 0, &call, &resp), -EINVAL);
	assert_int_equal(resp.status, 404);
	assert_int_equal(api_route("PUT", "/api/v1/vm.pause", "{}", 2, &call, &resp), -EINVAL);
	assert_int_equal(resp.status, 400);
	assert_int_equal(api_route("PUT", "/api/v1/vm.create", "{", 1, &call, &resp), -EINVAL);
	assert_int_equal(resp.status, 400);
	assert_non_null(strstr(resp.body, "invalid VmConfig"));
	assert_int_equal(api_route("PUT", "/api/v1/vm.create", cfg, API_MAX_BODY + 1, &call, &resp),
			 -EINVAL);
	assert_int_equal(resp.status, 413);
	api_response_free(&resp);
}

static unsigned int status_in(enum api_endpoint ep, enum vm_state st)
{
	struct api_response resp = { 0 };
	unsigned int status = api_check_state(ep, st, &resp) ? resp.status : 0;

	api_response_free(&resp);
	return status;
}

static void state_rules_follow_openapi(void **state)
{
	(void)state;
	assert_int_equal(status_in(API_VM_INFO, VM_STATE_NONE), 404);
	assert_int_equal(status_in(API_VM_INFO, VM_STATE_CREATED), 0);
	assert_int_equal(status_in(API_VM_CREATE, VM_STATE_NONE), 0);
	assert_int_equal(status_in(API_VM_CREATE, VM_STATE_RUNNING), 409);
	assert_int_equal(status_in(API_VM_BOOT, VM_STATE_NONE), 404);
	assert_int_equal(status_in(API_VM_BOOT, VM_STATE_CREATED), 0);
	assert_int_equal(status_in(API_VM_BOOT, VM_STATE_SHUTDOWN), 0);
	assert_int_equal(status_in(API_VM_BOOT, VM_STATE_RUNNING), 409);
	assert_int_equal(status_in(API_VM_PAUSE, VM_STATE_RUNNING), 0);
	assert_int_equal(status_in(API_VM_PAUSE, VM_STATE_CREATED), 405);
	assert_int_equal(status_in(API_VM_PAUSE, VM_STATE_PAUSED), 405);
	assert_int_equal(status_in(API_VM_RESUME, VM_STATE_PAUSED), 0);
	assert_int_equal(status_in(API_VM_RESUME, VM_STATE_RUNNING), 405);
	assert_int_equal(status_in(API_VM_RESUME, VM_STATE_CREATED), 404);
	assert_int_equal(status_in(API_VM_SHUTDOWN, VM_STATE_PAUSED), 0);
	assert_int_equal(status_in(API_VM_SHUTDOWN, VM_STATE_SHUTDOWN), 405);
	assert_int_equal(status_in(API_VM_REBOOT, VM_STATE_NONE), 404);
	assert_int_equal(status_in(API_VM_POWER_BUTTON, VM_STATE_PAUSED), 405);
	assert_int_equal(status_in(API_VM_COUNTERS, VM_STATE_RUNNING), 0);
	assert_int_equal(status_in(API_VM_COUNTERS, VM_STATE_CREATED), 405);
	assert_int_equal(status_in(API_VM_DELETE, VM_STATE_NONE), 0);
	assert_int_equal(status_in(API_VMM_SHUTDOWN, VM_STATE_RUNNING), 0);
}

static void balloon_state_rules(void **state)
{
	(void)state;
	assert_int_equal(status_in(API_VM_RESIZE, VM_STATE_NONE), 404);
	assert_int_equal(status_in(API_VM_RESIZE, VM_STATE_CREATED), 0);
	assert_int_equal(status_in(API_VM_RESIZE, VM_STATE_RUNNING), 0);
	assert_int_equal(status_in(API_VM_RESIZE, VM_STATE_PAUSED), 405);
	assert_int_equal(status_in(API_VM_RESIZE, VM_STATE_SHUTDOWN), 0);
	assert_int_equal(status_in(API_VM_BALLOON_STATS, VM_STATE_NONE), 404);
	assert_int_equal(status_in(API_VM_BALLOON_STATS, VM_STATE_CREATED), 405);
	assert_int_equal(status_in(API_VM_BALLOON_STATS, VM_STATE_RUNNING), 0);
	assert_int_equal(status_in(API_VM_BALLOON_STATS, VM_STATE_PAUSED), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(minimal_config_takes_openapi_defaults),
		cmocka_unit_test(full_config_maps_every_field),
		cmocka_unit_test(emitted_config_parses_back_the_same),
		cmocka_unit_test(command_line_config_is_resolved),
		cmocka_unit_test(net_ring_sizes),
		cmocka_unit_test(unsupported_fields_are_refused_by_path),
		cmocka_unit_test(defaults_and_nulls_are_accepted),
		cmocka_unit_test(bad_values_are_refused),
		cmocka_unit_test(routing),
		cmocka_unit_test(state_rules_follow_openapi),
		cmocka_unit_test(balloon_state_rules),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
