/* Automatic ballooning: the policy's decisions. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "vmm/balloon_policy.h"
#include "vmm/hostmem.h"

#define MiB (1ULL << 20)
#define GiB (1ULL << 30)

static struct balloon_policy policy;

static int setup(void **state)
{
	(void)state;
	balloon_policy_defaults(&policy);
	return 0;
}

static struct balloon_policy_input idle_guest(void)
{
	return (struct balloon_policy_input){
		.guest_ram = 1 * GiB, .balloon = 0, .guest_available = 900 * MiB,
		.host_total = 8 * GiB, .host_available = 4 * GiB, .host_pressure = 0,
	};
}

static void quiet_host_changes_nothing(void **state)
{
	struct balloon_policy_input in = idle_guest();

	(void)state;
	in.host_available = 1 * GiB; /* between the watermarks */
	assert_int_equal(balloon_policy_target(&policy, &in), 0);
}

static void pressure_inflates_by_a_share_of_the_spare(void **state)
{
	struct balloon_policy_input in = idle_guest();
	uint64_t t;

	(void)state;
	in.host_pressure = 30;
	t = balloon_policy_target(&policy, &in);
	/* spare = 900M - max(64M, 102.4M) = 797.6M; a quarter of it. */
	assert_true(t > 190 * MiB && t < 210 * MiB);
	/* Low host memory alone counts as pressure too. */
	in.host_pressure = 0;
	in.host_available = 500 * MiB;
	assert_int_equal(balloon_policy_target(&policy, &in), t);
}

static void never_below_use_plus_margin(void **state)
{
	struct balloon_policy_input in = idle_guest();
	uint64_t t = 0;

	(void)state;
	in.host_pressure = 80;
	/* Repeated pressure: the balloon grows, the guest's available memory
	 * shrinks by as much; it converges with the margin left. */
	for (int i = 0; i < 60; i++) {
		in.balloon = t;
		in.guest_available = (int64_t)(900 * MiB - t);
		t = balloon_policy_target(&policy, &in);
	}
	assert_true(900 * MiB - t >= 102 * MiB);
	/* ... within the last step that was still worth making. */
	assert_true(900 * MiB - t < 103 * MiB + 4 * policy.min_change);
}

static void guest_demand_deflates_at_once(void **state)
{
	struct balloon_policy_input in = idle_guest();

	(void)state;
	in.balloon = 600 * MiB;
	in.guest_available = 20 * MiB; /* the guest started using memory */
	in.host_pressure = 50;         /* even under host pressure */
	assert_true(balloon_policy_target(&policy, &in) <= 600 * MiB - 82 * MiB);
}

static void comfort_deflates_gradually(void **state)
{
	struct balloon_policy_input in = idle_guest();
	uint64_t t;

	(void)state;
	in.balloon = 400 * MiB;
	in.guest_available = 500 * MiB;
	in.host_available = 6 * GiB;
	t = balloon_policy_target(&policy, &in);
	assert_int_equal(t, 300 * MiB);
	in.balloon = 10 * MiB;
	assert_int_equal(balloon_policy_target(&policy, &in), 0);
	/* A step under min_change (25% of 28 MiB is 7): not a resting place,
	 * the rest goes at once (it once stayed at 28 MiB for good). */
	in.balloon = 28 * MiB;
	assert_int_equal(balloon_policy_target(&policy, &in), 0);
	in.balloon = 32 * MiB;
	assert_int_equal(balloon_policy_target(&policy, &in), 24 * MiB);
}

static void unknown_stats_change_nothing(void **state)
{
	struct balloon_policy_input in = idle_guest();

	(void)state;
	in.guest_available = -1;
	in.host_pressure = 90;
	in.balloon = 128 * MiB;
	assert_int_equal(balloon_policy_target(&policy, &in), 128 * MiB);
}

static void fair_share_between_guests(void **state)
{
	struct balloon_policy_input small = idle_guest(), big = idle_guest();
	uint64_t ts, tb;

	(void)state;
	small.host_pressure = big.host_pressure = 40;
	big.guest_ram = 4 * GiB;
	big.guest_available = 3600 * MiB;
	ts = balloon_policy_target(&policy, &small);
	tb = balloon_policy_target(&policy, &big);
	/* The same share of each guest's spare memory. */
	assert_true(tb > 3 * ts && tb < 6 * ts);
}

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

static void host_memory_from_proc_and_cgroup(void **state)
{
	char root[] = "/tmp/sardine-hostmem-XXXXXX", dir[600], cmd[700];
	struct host_memory hm;

	(void)state;
	assert_non_null(mkdtemp(root));
	snprintf(dir, sizeof(dir), "%s/proc/self", root);
	snprintf(cmd, sizeof(cmd), "mkdir -p %s %s/proc/pressure %s/cg/vms", dir, root, root);
	assert_int_equal(system(cmd), 0);
	snprintf(dir, sizeof(dir), "%s/proc", root);
	write_file(dir, "meminfo", "MemTotal:  8000000 kB\nMemFree: 10 kB\nMemAvailable:  4000000 kB\n");
	write_file(dir, "pressure/memory", "some avg10=1.50 avg60=0.00 avg300=0.00 total=1\n");
	write_file(dir, "self/cgroup", "0::/vms\n");
	snprintf(dir, sizeof(dir), "%s/cg/vms", root);
	write_file(dir, "memory.max", "max\n");
	snprintf(dir, sizeof(dir), "%s/proc", root);
	snprintf(cmd, sizeof(cmd), "%s/cg", root);
	assert_int_equal(host_memory_read(&hm, dir, cmd), 0);
	assert_true(hm.total == 8000000ULL * 1024 && hm.available == 4000000ULL * 1024);
	assert_true(hm.pressure_avg10 > 1.4 && hm.pressure_avg10 < 1.6);
	/* A memory.max below the host: the cgroup's numbers win. */
	snprintf(dir, sizeof(dir), "%s/cg/vms", root);
	write_file(dir, "memory.max", "2147483648\n");
	write_file(dir, "memory.current", "2000000000\n");
	write_file(dir, "memory.pressure", "some avg10=42.00 avg60=0.00 avg300=0.00 total=1\n");
	snprintf(dir, sizeof(dir), "%s/proc", root);
	assert_int_equal(host_memory_read(&hm, dir, cmd), 0);
	assert_true(hm.total == 2147483648ULL && hm.available == 147483648ULL);
	assert_true(hm.pressure_avg10 > 41.9);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(quiet_host_changes_nothing),
		cmocka_unit_test(pressure_inflates_by_a_share_of_the_spare),
		cmocka_unit_test(never_below_use_plus_margin),
		cmocka_unit_test(guest_demand_deflates_at_once),
		cmocka_unit_test(comfort_deflates_gradually),
		cmocka_unit_test(unknown_stats_change_nothing),
		cmocka_unit_test(fair_share_between_guests),
		cmocka_unit_test(host_memory_from_proc_and_cgroup),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
