/* Commands that manage running VMs through their API sockets:
 *   sardine serve, list, info, pause, resume, shutdown, reboot,
 *   power-button, stop, counters (balloon: cli/balloon.c).
 * NAME is a VM's name (its socket is DIR/NAME.sock, see api/socket.h) or
 * the path of an API socket (anything with a '/'). */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "api/client.h"
#include "api/socket.h"
#include "cli/cli.h"
#include "vmm/config.h"
#include "vmm/log.h"
#include "vmm/runner.h"

#define PATH_LEN sizeof(((struct sockaddr_un *)0)->sun_path)
#define STOP_WAIT_S 10

int cli_target_path(const char *target, char *path, size_t len)
{
	char err[256];

	if (strchr(target, '/')) {
		if (strlen(target) >= len) {
			cli_error("socket path %s is too long", target);
			return EXIT_USAGE;
		}
		strcpy(path, target);
		return 0;
	}
	if (!config_valid_name(target)) {
		cli_error("'%s' is not a VM name (letters, digits, '.', '_', '-')", target);
		return EXIT_USAGE;
	}
	if (sock_path_for(target, path, len, false, err, sizeof(err))) {
		cli_error("no VM named '%s' (%s)", target, err);
		return EXIT_USAGE;
	}
	return 0;
}

int cli_call(const char *target, const char *path, const char *method, const char *endpoint,
	     const char *body, struct api_reply *reply)
{
	char err[320];
	int ret = api_client_call(path, method, endpoint, body, reply, err, sizeof(err));

	if (ret == -ENOENT) {
		cli_error("no VM named '%s' (no socket %s)", target, path);
		return EXIT_USAGE;
	}
	if (ret == -ECONNREFUSED) {
		cli_error("VM '%s' is not running: nobody answers on %s (a stale socket)", target, path);
		return EXIT_VM_ERROR;
	}
	if (ret) {
		cli_error("cannot reach VM '%s': %s", target, err);
		return EXIT_VM_ERROR;
	}
	return 0;
}

int cli_print_json(const char *body)
{
	struct json_object *doc = json_tokener_parse(body);

	if (!doc) {
		cli_error("the VM answered something that is not JSON");
		return EXIT_VM_ERROR;
	}
	puts(json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PRETTY |
							 JSON_C_TO_STRING_SPACED |
							 JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(doc);
	return 0;
}

static int simple(const char *target, const char *method, const char *endpoint, bool show)
{
	char path[PATH_LEN], msg[256];
	struct api_reply reply;
	int status = cli_target_path(target, path, sizeof(path));

	if (status || (status = cli_call(target, path, method, endpoint, NULL, &reply)))
		return status;
	if (reply.status >= 300) {
		cli_error("%s: %s", target, api_reply_error(&reply, msg, sizeof(msg)));
		status = EXIT_VM_ERROR;
	} else if (show) {
		status = cli_print_json(reply.body);
	}
	api_reply_free(&reply);
	return status;
}

/* vm.shutdown (when a VM runs), vmm.shutdown, then wait until the process
 * has removed its socket, so that `stop` returns once the VMM is gone. */
static int stop(const char *target)
{
	char path[PATH_LEN], msg[256];
	struct api_reply reply;
	int status = cli_target_path(target, path, sizeof(path));

	if (status || (status = cli_call(target, path, "PUT", "vm.shutdown", NULL, &reply)))
		return status;
	if (reply.status >= 300 && reply.status != 404 && reply.status != 405) {
		cli_error("%s: %s", target, api_reply_error(&reply, msg, sizeof(msg)));
		api_reply_free(&reply);
		return EXIT_VM_ERROR;
	}
	api_reply_free(&reply);
	if ((status = cli_call(target, path, "PUT", "vmm.shutdown", NULL, &reply)))
		return status;
	if (reply.status >= 300) {
		cli_error("%s: %s", target, api_reply_error(&reply, msg, sizeof(msg)));
		api_reply_free(&reply);
		return EXIT_VM_ERROR;
	}
	api_reply_free(&reply);
	for (int i = 0; i < STOP_WAIT_S * 10 && access(path, F_OK) == 0; i++)
		usleep(100 * 1000);
	return 0;
}

/* ---- sardine list */

struct vm_row {
	char name[VM_NAME_MAX + 1];
	char state[24];
	long long cpus, pid;
	unsigned long long memory, uptime_ms;
};

static struct json_object *get(struct json_object *o, const char *key)
{
	struct json_object *v = NULL;

	return o && json_object_object_get_ex(o, key, &v) ? v : NULL;
}

static void ask(const char *path, struct vm_row *row)
{
	struct json_object *info = NULL, *ping = NULL, *cfg;
	struct api_reply reply;
	char err[320];
	int ret;

	ret = api_client_call(path, "GET", "vmm.ping", NULL, &reply, err, sizeof(err));
	if (ret) {
		snprintf(row->state, sizeof(row->state), "%s",
			 ret == -ECONNREFUSED ? "stale-socket" : "unreachable");
		return;
	}
	ping = json_tokener_parse(reply.body);
	row->pid = json_object_get_int64(get(ping, "pid"));
	api_reply_free(&reply);
	snprintf(row->state, sizeof(row->state), "?");
	if (api_client_call(path, "GET", "vm.info", NULL, &reply, err, sizeof(err)) == 0) {
		const char *state;

		info = reply.status == 200 ? json_tokener_parse(reply.body) : NULL;
		state = json_object_get_string(get(info, "state"));
		if (reply.status == 404)
			snprintf(row->state, sizeof(row->state), "NotCreated");
		else if (state)
			snprintf(row->state, sizeof(row->state), "%s", state);
		api_reply_free(&reply);
	}
	cfg = get(info, "config");
	row->cpus = json_object_get_int64(get(get(cfg, "cpus"), "boot_vcpus"));
	row->memory = json_object_get_uint64(get(get(cfg, "memory"), "size"));
	row->uptime_ms = json_object_get_uint64(get(info, "uptime_ms"));
	json_object_put(info);
	json_object_put(ping);
}

static void human_size(unsigned long long b, char *buf, size_t len)
{
	if (!b)
		snprintf(buf, len, "-");
	else if (b % (1ULL << 30) == 0)
		snprintf(buf, len, "%lluG", b >> 30);
	else
		snprintf(buf, len, "%lluM", b >> 20);
}

static void human_uptime(unsigned long long ms, char *buf, size_t len)
{
	unsigned long long s = ms / 1000;

	if (!ms)
		snprintf(buf, len, "-");
	else if (s >= 86400)
		snprintf(buf, len, "%llud%02llu:%02llu:%02llu", s / 86400, s / 3600 % 24,
			 s / 60 % 60, s % 60);
	else
		snprintf(buf, len, "%llu:%02llu:%02llu", s / 3600, s / 60 % 60, s % 60);
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

static int list(bool as_json)
{
	struct json_object *arr = json_object_new_array();
	struct dirent **ents = NULL;
	char dir[256], err[256], path[PATH_LEN];
	int n = 0;

	if (sock_dir(dir, sizeof(dir), false, err, sizeof(err)) == 0)
		n = scandir(dir, &ents, NULL, by_name);
	if (!as_json)
		printf("%-24s %-12s %5s %7s %12s %8s\n", "NAME", "STATE", "CPUS", "MEMORY", "UPTIME",
		       "PID");
	for (int i = 0; i < n; i++) {
		struct vm_row row = { .cpus = 0 };
		size_t len = strlen(ents[i]->d_name);
		char mem[24], up[32], cpus[12], pid[16];

		if (len <= 5 || len - 5 > VM_NAME_MAX ||
		    strcmp(ents[i]->d_name + len - 5, ".sock") != 0)
			continue;
		snprintf(row.name, sizeof(row.name), "%.*s", (int)(len - 5), ents[i]->d_name);
		if (snprintf(path, sizeof(path), "%s/%s.sock", dir, row.name) >= (int)sizeof(path))
			continue;
		ask(path, &row);
		if (as_json) {
			struct json_object *o = json_object_new_object();

			json_object_object_add(o, "name", json_object_new_string(row.name));
			json_object_object_add(o, "state", json_object_new_string(row.state));
			json_object_object_add(o, "cpus", json_object_new_int64(row.cpus));
			json_object_object_add(o, "memory", json_object_new_uint64(row.memory));
			json_object_object_add(o, "uptime_ms", json_object_new_uint64(row.uptime_ms));
			json_object_object_add(o, "pid", json_object_new_int64(row.pid));
			json_object_object_add(o, "socket", json_object_new_string(path));
			json_object_array_add(arr, o);
			continue;
		}
		human_size(row.memory, mem, sizeof(mem));
		human_uptime(row.uptime_ms, up, sizeof(up));
		snprintf(cpus, sizeof(cpus), row.cpus ? "%lld" : "-", row.cpus);
		snprintf(pid, sizeof(pid), row.pid ? "%lld" : "-", row.pid);
		printf("%-24s %-12s %5s %7s %12s %8s\n", row.name, row.state, cpus, mem, up, pid);
	}
	for (int i = 0; i < n; i++)
		free(ents[i]);
	free(ents);
	if (as_json)
		puts(json_object_to_json_string_ext(arr, JSON_C_TO_STRING_PRETTY |
							 JSON_C_TO_STRING_SPACED |
							 JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(arr);
	return 0;
}

int cli_list(int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[1], "--json") == 0)
		return list(true);
	if (argc == 1)
		return list(false);
	cli_error("usage: sardine list [--json]");
	return EXIT_USAGE;
}

/* ---- sardine info|pause|... NAME */

struct ctl_command {
	const char *name;
	const char *method;
	const char *endpoint;
	bool show; /* print the JSON answer */
};

static const struct ctl_command commands[] = {
	{ "info", "GET", "vm.info", true },
	{ "counters", "GET", "vm.counters", true },
	{ "pause", "PUT", "vm.pause", false },
	{ "resume", "PUT", "vm.resume", false },
	{ "shutdown", "PUT", "vm.shutdown", false },
	{ "reboot", "PUT", "vm.reboot", false },
	{ "power-button", "PUT", "vm.power-button", false },
	{ "boot", "PUT", "vm.boot", false },
	{ "delete", "PUT", "vm.delete", false },
	{ "stop", NULL, NULL, false },
};

bool cli_is_ctl(const char *cmd)
{
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(cmd, commands[i].name) == 0)
			return true;
	return false;
}

int cli_ctl(int argc, char **argv)
{
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		const struct ctl_command *c = &commands[i];

		if (strcmp(argv[0], c->name) != 0)
			continue;
		if (argc != 2 || argv[1][0] == '-') {
			cli_error("usage: sardine %s NAME", c->name);
			return EXIT_USAGE;
		}
		if (!c->endpoint)
			return stop(argv[1]);
		return simple(argv[1], c->method, c->endpoint, c->show);
	}
	return EXIT_USAGE;
}

/* ---- sardine serve */

int cli_serve(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "api-socket", required_argument, NULL, 'a' },
		{ "name", required_argument, NULL, 'n' },
		{ "log-level", required_argument, NULL, 'l' },
		{ "seccomp", required_argument, NULL, 's' },
		{ "landlock", required_argument, NULL, 'L' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *api_socket = NULL, *name = NULL;
	struct vmm_sandbox sandbox = { SANDBOX_ENFORCE, LANDLOCK_AUTO };
	enum log_level level;
	int opt;

	opterr = 0;
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 'a': api_socket = optarg; break;
		case 'n':
			if (!config_valid_name(optarg)) {
				cli_error("--name: '%s' is not 1-%d letters, digits, '.', '_' or '-'",
					  optarg, VM_NAME_MAX);
				return EXIT_USAGE;
			}
			name = optarg;
			break;
		case 'l':
			if (log_parse_level(optarg, &level)) {
				cli_error("--log-level: '%s' is not one of error, warn, info, debug", optarg);
				return EXIT_USAGE;
			}
			log_threshold = level;
			break;
		case 's':
			if (cli_seccomp_option(optarg, &sandbox.seccomp))
				return EXIT_USAGE;
			break;
		case 'L':
			if (cli_landlock_option(optarg, &sandbox.landlock))
				return EXIT_USAGE;
			break;
		case 'h':
			puts("usage: sardine serve [--api-socket PATH] [--name NAME] [--log-level LEVEL]\n"
			     "                     [--seccomp on|log|off] [--landlock auto|on|off]\n"
			     "\nWaits for vm.create and vm.boot on the API socket (docs/api.md); the\n"
			     "default socket is named after the VM (see sardine list). Landlock confines\n"
			     "file access at the first vm.boot, to that VM's files.");
			return 0;
		default:
			cli_error("unknown option or missing value '%s' (see sardine serve --help)",
				  argv[optind - 1]);
			return EXIT_USAGE;
		}
	}
	if (optind < argc) {
		cli_error("unexpected argument '%s' (see sardine serve --help)", argv[optind]);
		return EXIT_USAGE;
	}
	return vmm_serve(name, api_socket, &sandbox);
}
