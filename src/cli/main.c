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
	cli_error("unknown command '%s' (see sardine --help)", argv[1]);
	return EXIT_USAGE;
}
