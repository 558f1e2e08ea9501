/* The REST API: cloud-hypervisor's endpoints (vmm/src/api/openapi/
 * cloud-hypervisor.yaml) on a Unix socket, HTTP/1.1 with JSON bodies.
 *
 * Three layers, so the parsing can be tested and fuzzed without sockets:
 *   api_route()       method + path + body -> a checked call, or a 4xx
 *                     response (router.c; pure, no I/O);
 *   api_check_state() may this call run in the VM's current state?
 *   the executor      runs the call on sardine's control thread (runner.c)
 *                     and fills the response.
 * server.c carries requests from libmicrohttpd's thread to the executor and
 * back; docs/api.md lists the endpoints. */
#ifndef SARDINE_API_H
#define SARDINE_API_H

#include <stddef.h>
#include <stdint.h>

#include "vmm/config.h"

#define API_PREFIX "/api/v1/"
/* A VmConfig is a few KiB; anything much larger is not one. */
#define API_MAX_BODY (256 * 1024)

enum api_endpoint {
	API_VMM_PING,
	API_VMM_SHUTDOWN,
	API_VM_CREATE,
	API_VM_BOOT,
	API_VM_INFO,
	API_VM_PAUSE,
	API_VM_RESUME,
	API_VM_SHUTDOWN,
	API_VM_REBOOT,
	API_VM_POWER_BUTTON,
	API_VM_DELETE,
	API_VM_COUNTERS,
	API_VM_RESIZE,        /* desired_balloon only */
	API_VM_BALLOON_STATS, /* sardine's */
	API_NR_ENDPOINTS,
};

/* cloud-hypervisor's VmState, plus "no VM created". */
enum vm_state {
	VM_STATE_NONE,
	VM_STATE_CREATED,
	VM_STATE_RUNNING,
	VM_STATE_PAUSED,
	VM_STATE_SHUTDOWN,
};

/* A routed request: what to do, with its parsed body. */
struct api_call {
	enum api_endpoint ep;
	struct vm_config *cfg; /* vm.create: the new VM's configuration (owned) */
	uint64_t desired_balloon; /* vm.resize: bytes */
};

/* What goes back: an HTTP status and a JSON body (or none, for 204). */
struct api_response {
	unsigned int status;
	char *body; /* malloc'd; NULL: empty */
};

/* Checks method, path and body.  Returns 0 with *call filled, or -EINVAL
 * with resp holding the error (400, 404, 405, 413). */
int api_route(const char *method, const char *url, const char *body, size_t len,
	      struct api_call *call, struct api_response *resp);
/* 0 when ep may run in state; else -EINVAL with resp holding the error
 * (404: no VM / not booted, 405: wrong state, 409: already there). */
int api_check_state(enum api_endpoint ep, enum vm_state state, struct api_response *resp);

void api_call_free(struct api_call *call);
void api_response_free(struct api_response *resp);
/* resp = status with {"error": "..."}; frees what resp held. */
void api_error(struct api_response *resp, unsigned int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* resp = status with body (taken over; NULL: no body). */
void api_reply(struct api_response *resp, unsigned int status, char *body);

const char *api_endpoint_name(enum api_endpoint ep); /* "vm.pause" */
const char *vm_state_name(enum vm_state state);     /* "Running" */

#endif
