/* sardine run: parse options into a vm_config and run it. */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/vmconfig.h"
#include "cli/cli.h"
#include "vmm/config.h"
#include "vmm/log.h"
#include "vmm/runner.h"

static const char run_usage[] =
	"usage: sardine run [options]\n"
	"\n"
	"  --kernel PATH      bzImage, or ELF with a PVH entry (default: the built-in test guest)\n"
	"  --initrd PATH      initial ramdisk\n"
	"  --cmdline STR      kernel command line (default: console=ttyS0)\n"
	"  --memory SIZE      guest RAM, K/M/G suffixes, bare number in MiB (default 256M)\n"
	"  --cpus N           vCPUs, 1 to 254 (default 1)\n"
	"  --disk PATH[,ro][,cache=none|writeback][,serial=ID][,queues=N][,format=raw]\n"
	"                     a virtio-blk disk (raw image or block device), repeatable;\n"
	"                     format=raw: raw even if it looks like qcow2 & co.\n"
	"  --net tap=NAME[,mac=MAC][,queues=N][,rx_queue_size=N][,tx_queue_size=N]\n"
	"      | fd=N[,mac=MAC][,...]\n"
	"                     a virtio-net device on a TAP interface, repeatable;\n"
	"                     ring sizes 256 to 1024 (default rx 1024, tx 256)\n"
	"  --share HOSTDIR:TAG[,ro][,security=passthrough|mapped]\n"
	"                     a host directory over virtio-9p, repeatable\n"
	"  --balloon on|auto[,size=SIZE][,deflate_on_oom=on|off][,free_page_reporting=on|off]\n"
	"            [,margin=SIZE][,step=PCT][,pressure=PCT]\n"
	"                     a virtio-balloon device; auto: sized by sardine (docs/density.md)\n"
	"  --console serial|virtio|socket|none\n"
	"                     where the guest console goes (default serial: COM1 on stdio)\n"
	"  --name NAME        the VM's name (default: generated)\n"
	"  --api-socket PATH  serve the REST API on this Unix socket (default:\n"
	"                     a socket named after the VM, see sardine list; none: no API)\n"
	"  --config FILE      the VM from a VmConfig JSON file (what vm.info returns);\n"
	"                     only --name, --api-socket, --no-reboot, --log-level,\n"
	"                     --seccomp, --landlock go with it\n"
	"  --no-reboot        exit when the guest reboots\n"
	"  --no-merge         do not offer guest RAM to KSM\n"
	"  --no-rng           no virtio-rng entropy device\n"
	"  --seccomp on|log|off\n"
	"                     the system call allow-list (default on; log: let calls\n"
	"                     off the list through and have the kernel log them)\n"
	"  --landlock auto|on|off\n"
	"                     confine file access to the VM's own files with Landlock\n"
	"                     (default auto: where the kernel has it; on: or fail)\n"
	"  --log-level LEVEL  error, warn, info or debug (default warn)\n"
	"\n"
	"On a terminal, Ctrl-A x quits and Ctrl-A Ctrl-A sends Ctrl-A.\n"
	"\n"
	"Environment:\n"
	"  SARDINE_BLK_ENGINE=threads   disks use the thread pool instead of io_uring (tests)\n"
	"  SARDINE_BLK_POLL_US=N        disk I/O threads poll up to N us before sleeping\n"
	"  SARDINE_IO_SCHED=normal|batch  device I/O threads never / always SCHED_BATCH\n"
	"                               (default: while their work overlaps the guest's,\n"
	"                               docs/architecture.md)\n";

enum {
	OPT_KERNEL = 256,
	OPT_INITRD,
	OPT_CMDLINE,
	OPT_MEMORY,
	OPT_CPUS,
	OPT_NO_REBOOT,
	OPT_NO_MERGE,
	OPT_NO_RNG,
	OPT_SECCOMP,
	OPT_LANDLOCK,
	OPT_DISK,
	OPT_NET,
	OPT_SHARE,
	OPT_BALLOON,
	OPT_CONSOLE,
	OPT_NAME,
	OPT_API_SOCKET,
	OPT_LOG_LEVEL,
	OPT_CONFIG,
	OPT_HELP,
};

static const struct option run_options[] = {
	{ "kernel", required_argument, NULL, OPT_KERNEL },
	{ "initrd", required_argument, NULL, OPT_INITRD },
	{ "cmdline", required_argument, NULL, OPT_CMDLINE },
	{ "memory", required_argument, NULL, OPT_MEMORY },
	{ "cpus", required_argument, NULL, OPT_CPUS },
	{ "no-reboot", no_argument, NULL, OPT_NO_REBOOT },
	{ "no-merge", no_argument, NULL, OPT_NO_MERGE },
	{ "no-rng", no_argument, NULL, OPT_NO_RNG },
	{ "seccomp", required_argument, NULL, OPT_SECCOMP },
	{ "landlock", required_argument, NULL, OPT_LANDLOCK },
	{ "disk", required_argument, NULL, OPT_DISK },
	{ "net", required_argument, NULL, OPT_NET },
	{ "share", required_argument, NULL, OPT_SHARE },
	{ "balloon", required_argument, NULL, OPT_BALLOON },
	{ "console", required_argument, NULL, OPT_CONSOLE },
	{ "name", required_argument, NULL, OPT_NAME },
	{ "api-socket", required_argument, NULL, OPT_API_SOCKET },
	{ "log-level", required_argument, NULL, OPT_LOG_LEVEL },
	{ "config", required_argument, NULL, OPT_CONFIG },
	{ "help", no_argument, NULL, OPT_HELP },
	{ NULL, 0, NULL, 0 },
};

void cli_error(const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "sardine: error: %s\n", msg);
}

static int set_string(char **dst, const char *value)
{
	free(*dst);
	*dst = strdup(value);
	return *dst ? 0 : -ENOMEM;
}

static int parse_memory(struct vm_config *cfg, const char *arg)
{
	uint64_t size;

	if (parse_size(arg, 1ULL << 20, &size)) {
		cli_error("--memory: '%s' is not a size (examples: 512M, 4G)", arg);
		return -EINVAL;
	}
	if (size < VM_MIN_MEM || size > VM_MAX_MEM || size % 4096) {
		cli_error("--memory: %s is out of range (32M to 1T, a multiple of 4K)", arg);
		return -ERANGE;
	}
	cfg->mem_size = size;
	return 0;
}

/* Device options share one error path: the parser explains, we print. */
static int device_option(int ret, const char *err)
{
	if (ret == -EINVAL)
		cli_error("%s", err);
	return ret;
}

static int parse_option(struct vm_config *cfg, int opt, const char *arg)
{
	char err[256] = "";
	unsigned long n;
	enum log_level level;

	switch (opt) {
	case OPT_DISK: return device_option(config_add_disk(cfg, arg, err, sizeof(err)), err);
	case OPT_NET: return device_option(config_add_net(cfg, arg, err, sizeof(err)), err);
	case OPT_SHARE: return device_option(config_add_share(cfg, arg, err, sizeof(err)), err);
	case OPT_BALLOON: return device_option(config_set_balloon(cfg, arg, err, sizeof(err)), err);
	case OPT_CONSOLE: return device_option(config_set_console(cfg, arg, err, sizeof(err)), err);
	case OPT_NAME:
		if (strlen(arg) > VM_NAME_MAX || !config_valid_name(arg)) {
			cli_error("--name: '%s' is not 1-%d letters, digits, '.', '_' or '-'", arg,
				  VM_NAME_MAX);
			return -EINVAL;
		}
		strcpy(cfg->name, arg);
		return 0;
	case OPT_API_SOCKET: return set_string(&cfg->api_socket, arg);
	case OPT_KERNEL: return set_string(&cfg->kernel, arg);
	case OPT_INITRD: return set_string(&cfg->initrd, arg);
	case OPT_CMDLINE: return set_string(&cfg->cmdline, arg);
	case OPT_MEMORY: return parse_memory(cfg, arg);
	case OPT_CPUS:
		if (parse_uint(arg, 1, VM_MAX_CPUS, &n)) {
			cli_error("--cpus: '%s' is not a number from 1 to %d", arg, VM_MAX_CPUS);
			return -EINVAL;
		}
		cfg->nr_cpus = (unsigned int)n;
		return 0;
	case OPT_NO_REBOOT: cfg->no_reboot = true; return 0;
	case OPT_NO_MERGE: cfg->no_merge = true; return 0;
	case OPT_NO_RNG: cfg->no_rng = true; return 0;
	case OPT_LOG_LEVEL:
		if (log_parse_level(arg, &level)) {
			cli_error("--log-level: '%s' is not one of error, warn, info, debug", arg);
			return -EINVAL;
		}
		log_threshold = level;
		return 0;
	default:
		return -EINVAL;
	}
}

int cli_landlock_option(const char *arg, enum landlock_mode *out)
{
	if (landlock_parse_mode(arg, out) == 0)
		return 0;
	cli_error("--landlock: '%s' is not one of auto, on, off", arg);
	return -EINVAL;
}

int cli_seccomp_option(const char *arg, enum sandbox_mode *out)
{
	if (sandbox_parse_mode(arg, out) == 0)
		return 0;
	cli_error("--seccomp: '%s' is not one of on, log, off", arg);
	return -EINVAL;
}

/* No --kernel: the test guest that `make guest` builds. */
static int use_default_guest(struct vm_config *cfg)
{
	char kernel[4096], initrd[4096];

	snprintf(kernel, sizeof(kernel), "%s/vmlinuz", SARDINE_GUEST_DIR);
	snprintf(initrd, sizeof(initrd), "%s/initramfs.cpio", SARDINE_GUEST_DIR);
	if (access(kernel, R_OK) || access(initrd, R_OK)) {
		cli_error("no --kernel given and the default guest is not built (run 'make guest')");
		return -ENOENT;
	}
	if (set_string(&cfg->kernel, kernel) || (!cfg->initrd && set_string(&cfg->initrd, initrd)))
		return -ENOMEM;
	if (!cfg->cmdline)
		return set_string(&cfg->cmdline, cfg->console == CONSOLE_VIRTIO ? "console=hvc0 quiet"
										 : "console=ttyS0 quiet");
	return 0;
}

static const char *option_name(int opt)
{
	for (const struct option *o = run_options; o->name; o++)
		if (o->val == opt)
			return o->name;
	return "?";
}

/* Options that describe the VM itself: a --config file does that. */
static bool describes_vm(int opt)
{
	return opt != OPT_NAME && opt != OPT_API_SOCKET && opt != OPT_NO_REBOOT &&
	       opt != OPT_LOG_LEVEL && opt != OPT_CONFIG;
}

/* --config FILE: the VM from the file, the VMM's own options from the
 * command line (already in cfg). */
static int load_config(struct vm_config *cfg, const char *file, const char *vm_option)
{
	struct vm_config from_file;
	char err[320];

	if (vm_option) {
		cli_error("--config describes the whole VM: --%s cannot go with it", vm_option);
		return -EINVAL;
	}
	if (vmconfig_load(file, &from_file, err, sizeof(err))) {
		cli_error("--config %s", err);
		return -EINVAL;
	}
	strcpy(from_file.name, cfg->name);
	from_file.api_socket = cfg->api_socket;
	from_file.no_reboot = cfg->no_reboot;
	cfg->api_socket = NULL;
	config_free(cfg);
	*cfg = from_file;
	return 0;
}

int cli_run(int argc, char **argv)
{
	struct vm_config cfg;
	const char *config_file = NULL, *vm_option = NULL;
	struct vmm_sandbox sandbox = { SANDBOX_ENFORCE, LANDLOCK_AUTO };
	int opt, status;

	config_init_defaults(&cfg);
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "", run_options, NULL)) != -1) {
		if (opt == OPT_HELP) {
			fputs(run_usage, stdout);
			config_free(&cfg);
			return 0;
		}
		if (opt == '?' || opt == ':') {
			if (optopt)
				cli_error("option '%s' needs a value (see sardine run --help)", argv[optind - 1]);
			else
				cli_error("unknown option '%s' (see sardine run --help)", argv[optind - 1]);
			config_free(&cfg);
			return EXIT_USAGE;
		}
		if (opt == OPT_CONFIG) {
			config_file = optarg;
			continue;
		}
		if (opt == OPT_SECCOMP) { /* the process's, not the VM's */
			if (cli_seccomp_option(optarg, &sandbox.seccomp)) {
				config_free(&cfg);
				return EXIT_USAGE;
			}
			continue;
		}
		if (opt == OPT_LANDLOCK) {
			if (cli_landlock_option(optarg, &sandbox.landlock)) {
				config_free(&cfg);
				return EXIT_USAGE;
			}
			continue;
		}
		if (describes_vm(opt) && !vm_option)
			vm_option = option_name(opt);
		if (parse_option(&cfg, opt, optarg)) {
			config_free(&cfg);
			return EXIT_USAGE;
		}
	}
	if (config_file && load_config(&cfg, config_file, vm_option)) {
		config_free(&cfg);
		return EXIT_USAGE;
	}
	if (optind < argc) {
		cli_error("unexpected argument '%s' (see sardine run --help)", argv[optind]);
		config_free(&cfg);
		return EXIT_USAGE;
	}
	{
		char err[256];

		if (config_validate(&cfg, err, sizeof(err))) {
			cli_error("%s", err);
			config_free(&cfg);
			return EXIT_USAGE;
		}
	}
	if (!config_file && !cfg.kernel && use_default_guest(&cfg)) {
		config_free(&cfg);
		return EXIT_USAGE;
	}
	if (!config_file && !cfg.cmdline &&
	    set_string(&cfg.cmdline, cfg.console == CONSOLE_VIRTIO ? "console=hvc0" : "console=ttyS0")) {
		config_free(&cfg);
		return EXIT_VM_ERROR;
	}
	status = vmm_run(&cfg, &sandbox);
	config_free(&cfg);
	return status;
}
