/* sardine: a virtual machine monitor for Linux/KVM. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "vmm/runner.h"

static const char usage[] =
	"usage: sardine <command> [options]\n"
	"\n"
	"commands:\n"
	"  run       boot a VM (sardine run --help for its options)\n"
	"  serve     wait for a VM to be created and booted over the API (docs/api.md)\n"
	"  list [--json]           the VMs running here: name, state, vCPUs, memory, uptime, pid\n"
	"  info NAME               a VM's state and configuration (VmInfo JSON)\n"
	"  counters NAME           a VM's device, vCPU and memory counters (JSON)\n"
	"  balloon NAME SIZE       ask the guest to give SIZE (K/M/G; bare: MiB) to its balloon\n"
	"  balloon NAME --stats    the balloon's sizes and the guest's memory statistics (JSON)\n"
	"  pause|resume NAME       stop and continue a VM's vCPUs and devices\n"
	"  shutdown|reboot NAME    stop the VM (its sardine stays) / restart it\n"
	"  power-button NAME       press the ACPI power button\n"
	"  boot|delete NAME        boot a created VM / forget it\n"
	"  stop NAME               shut the VM down and end its sardine process\n"
	"  console NAME            attach to a VM started with --console socket\n"
	"\n"
	"  --help     this text\n"
	"  --version  print the version\n";

int main(int argc, char **argv)
{
	if (argc < 2) {
		fputs(usage, stderr);
		return EXIT_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		fputs(usage, stdout);
		return 0;
	}
	if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "version") == 0) {
		printf("sardine %s\n", SARDINE_VERSION);
		return 0;
	}
	if (strcmp(argv[1], "run") == 0)
		return cli_run(argc - 1, argv + 1);
	if (strcmp(argv[1], "serve") == 0)
		return cli_serve(argc - 1, argv + 1);
	if (strcmp(argv[1], "list") == 0)
		return cli_list(argc - 1, argv + 1);
	if (strcmp(argv[1], "console") == 0)
		return cli_console(argc - 1, argv + 1);
	if (strcmp(argv[1], "balloon") == 0)
		return cli_balloon(argc - 1, argv + 1);
	if (cli_is_ctl(argv[1]))
		return cli_ctl(argc - 1, argv + 1);
	cli_error("unknown command '%s' (see sardine --help)", argv[1]);
	return EXIT_USAGE;
}
