/* sardine balloon NAME SIZE    vm.resize {"desired_balloon": SIZE}
 * sardine balloon NAME --stats  vm.balloon-stats, pretty-printed
 * SIZE as --memory takes it: K/M/G/T suffixes, a bare number in MiB. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/un.h>

#include "api/client.h"
#include "cli/cli.h"
#include "vmm/config.h"
#include "vmm/runner.h"

#define PATH_LEN sizeof(((struct sockaddr_un *)0)->sun_path)

static const char balloon_usage[] =
	"usage: sardine balloon NAME SIZE | sardine balloon NAME --stats";

/* The request for argv's SIZE or --stats; on bad input says why. */
static int parse_request(const char *arg, const char **method, const char **endpoint,
			 char *body, size_t len)
{
	uint64_t bytes;

	if (strcmp(arg, "--stats") == 0) {
		*method = "GET";
		*endpoint = "vm.balloon-stats";
		body[0] = '\0';
		return 0;
	}
	if (arg[0] == '-') {
		cli_error("balloon: unknown option '%s' (%s)", arg, balloon_usage);
		return EXIT_USAGE;
	}
	if (parse_size(arg, 1ULL << 20, &bytes)) {
		cli_error("balloon: '%s' is not a size (K/M/G suffixes; a bare number is MiB)", arg);
		return EXIT_USAGE;
	}
	*method = "PUT";
	*endpoint = "vm.resize";
	snprintf(body, len, "{\"desired_balloon\": %llu}", (unsigned long long)bytes);
	return 0;
}

int cli_balloon(int argc, char **argv)
{
	const char *method, *endpoint;
	char path[PATH_LEN], body[64], msg[512];
	struct api_reply reply;
	int status;

	if (argc != 3 || argv[1][0] == '-') {
		cli_error("%s", balloon_usage);
		return EXIT_USAGE;
	}
	status = parse_request(argv[2], &method, &endpoint, body, sizeof(body));
	if (!status)
		status = cli_target_path(argv[1], path, sizeof(path));
	if (status ||
	    (status = cli_call(argv[1], path, method, endpoint, body[0] ? body : NULL, &reply)))
		return status;
	if (reply.status >= 300) {
		cli_error("%s: %s", argv[1], api_reply_error(&reply, msg, sizeof(msg)));
		/* 400: the size does not fit this VM (bad input, as above). */
		status = reply.status == 400 ? EXIT_USAGE : EXIT_VM_ERROR;
	} else if (reply.status == 200) {
		status = cli_print_json(reply.body);
	}
	api_reply_free(&reply);
	return status;
}
