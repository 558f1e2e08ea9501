/* libFuzzer target for the REST API's request handling, without sockets:
 * routing (method, path, body), VmConfig parsing into a vm_config, the
 * state rules, and the round trip vm_config -> VmConfig -> vm_config, which
 * must give back the same document (vm.info's promise).
 *
 * Input: one byte picks the method, the path runs to the first newline,
 * the rest is the body.  The whole input is also parsed as a VmConfig. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "api/api.h"
#include "api/vmconfig.h"
#include "round_trip.h"

static const char *const methods[] = { "GET", "PUT", "POST", "DELETE", "get", "" };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct api_response resp = { 0 };
	struct api_call call;
	struct vm_config cfg;
	char err[256], *url;
	const uint8_t *nl;
	size_t url_len;

	if (vmconfig_parse((const char *)data, size, &cfg, err, sizeof(err)) == 0) {
		check_round_trip(&cfg);
		config_free(&cfg);
	}
	if (size < 1)
		return 0;
	nl = memchr(data + 1, '\n', size - 1);
	url_len = nl ? (size_t)(nl - (data + 1)) : size - 1;
	url = strndup((const char *)data + 1, url_len);
	if (!url)
		return 0;
	if (api_route(methods[data[0] % 6], url, nl ? (const char *)nl + 1 : "",
		      nl ? size - url_len - 2 : 0, &call, &resp) == 0) {
		for (int st = VM_STATE_NONE; st <= VM_STATE_SHUTDOWN; st++) {
			api_check_state(call.ep, (enum vm_state)st, &resp);
			api_response_free(&resp);
		}
		if (call.cfg)
			check_round_trip(call.cfg);
		api_call_free(&call);
	} else if (resp.status < 400 || resp.status > 499 || !resp.body) {
		fprintf(stderr, "refused without a 4xx and a message: %u\n", resp.status);
		abort();
	}
	api_response_free(&resp);
	free(url);
	return 0;
}
