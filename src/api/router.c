/* Request routing and the VM state rules of the REST API.  Nothing here
 * does I/O: tests/unit/test_api.c and tests/fuzz/fuzz_api.c drive it. */
#include "api/api.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "api/memory.h"
#include "api/vmconfig.h"

enum body_kind {
	BODY_NONE,   /* no body at all */
	BODY_CONFIG, /* a VmConfig */
	BODY_RESIZE, /* a VmResize */
};

struct endpoint {
	const char *name;
	const char *method;
	enum body_kind body;
};

/* Methods and paths as in cloud-hypervisor's OpenAPI description. */
static const struct endpoint endpoints[API_NR_ENDPOINTS] = {
	[API_VMM_PING] = { "vmm.ping", "GET", BODY_NONE },
	[API_VMM_SHUTDOWN] = { "vmm.shutdown", "PUT", BODY_NONE },
	[API_VM_CREATE] = { "vm.create", "PUT", BODY_CONFIG },
	[API_VM_BOOT] = { "vm.boot", "PUT", BODY_NONE },
	[API_VM_INFO] = { "vm.info", "GET", BODY_NONE },
	[API_VM_PAUSE] = { "vm.pause", "PUT", BODY_NONE },
	[API_VM_RESUME] = { "vm.resume", "PUT", BODY_NONE },
	[API_VM_SHUTDOWN] = { "vm.shutdown", "PUT", BODY_NONE },
	[API_VM_REBOOT] = { "vm.reboot", "PUT", BODY_NONE },
	[API_VM_POWER_BUTTON] = { "vm.power-button", "PUT", BODY_NONE },
	[API_VM_DELETE] = { "vm.delete", "PUT", BODY_NONE },
	[API_VM_COUNTERS] = { "vm.counters", "GET", BODY_NONE },
	[API_VM_RESIZE] = { "vm.resize", "PUT", BODY_RESIZE },
	/* sardine's: the balloon's sizes and the guest's statistics */
	[API_VM_BALLOON_STATS] = { "vm.balloon-stats", "GET", BODY_NONE },
};

/* cloud-hypervisor endpoints sardine does not offer (yet): named in the
 * error so that a client learns it is not a typo. */
static const char *const unsupported[] = {
	"vm.resize-disk", "vm.resize-zone", "vm.add-device", "vm.remove-device", "vm.add-disk", "vm.add-fs", "vm.add-generic-vhost-user",
	"vm.add-pmem", "vm.add-net", "vm.add-vsock", "vm.add-vdpa", "vm.add-user-device",
	"vm.snapshot", "vm.coredump", "vm.nmi", "vm.restore", "vm.receive-migration",
	"vm.send-migration",
};

const char *api_endpoint_name(enum api_endpoint ep)
{
	return ep < API_NR_ENDPOINTS ? endpoints[ep].name : "?";
}

const char *vm_state_name(enum vm_state state)
{
	switch (state) {
	case VM_STATE_CREATED: return "Created";
	case VM_STATE_RUNNING: return "Running";
	case VM_STATE_PAUSED: return "Paused";
	case VM_STATE_SHUTDOWN: return "Shutdown";
	default: return "NotCreated";
	}
}

void api_response_free(struct api_response *resp)
{
	free(resp->body);
	resp->body = NULL;
}

void api_reply(struct api_response *resp, unsigned int status, char *body)
{
	api_response_free(resp);
	resp->status = status;
	resp->body = body;
}

void api_error(struct api_response *resp, unsigned int status, const char *fmt, ...)
{
	struct json_object *obj;
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	api_response_free(resp);
	resp->status = status;
	obj = json_object_new_object();
	if (obj && json_object_object_add(obj, "error", json_object_new_string(msg)) == 0)
		resp->body = strdup(json_object_to_json_string_ext(
			obj, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(obj);
}

void api_call_free(struct api_call *call)
{
	if (call->cfg) {
		config_free(call->cfg);
		free(call->cfg);
		call->cfg = NULL;
	}
}

/* The printable start of a client-supplied string, for messages. */
static void quote(char *dst, size_t dstlen, const char *src)
{
	size_t n = 0;

	for (; *src && n + 4 < dstlen; src++)
		dst[n++] = (*src >= 0x20 && *src < 0x7f) ? *src : '?';
	if (*src && n + 4 <= dstlen) {
		memcpy(dst + n, "...", 3);
		n += 3;
	}
	dst[n] = '\0';
}

static int find_endpoint(const char *url, struct api_response *resp)
{
	const char *name;
	char shown[80];

	if (strncmp(url, API_PREFIX, strlen(API_PREFIX)) != 0) {
		quote(shown, sizeof(shown), url);
		api_error(resp, 404, "no such path '%s' (the API lives under %s)", shown, API_PREFIX);
		return -1;
	}
	name = url + strlen(API_PREFIX);
	for (int i = 0; i < API_NR_ENDPOINTS; i++)
		if (strcmp(name, endpoints[i].name) == 0)
			return i;
	for (size_t i = 0; i < sizeof(unsupported) / sizeof(unsupported[0]); i++) {
		if (strcmp(name, unsupported[i]) == 0) {
			api_error(resp, 404, "%s is a cloud-hypervisor endpoint that sardine does not implement",
				  unsupported[i]);
			return -1;
		}
	}
	quote(shown, sizeof(shown), name);
	api_error(resp, 404, "no such endpoint '%s'", shown);
	return -1;
}

static int parse_config(const char *body, size_t len, struct api_call *call,
			struct api_response *resp)
{
	char err[256];

	call->cfg = malloc(sizeof(*call->cfg));
	if (!call->cfg) {
		api_error(resp, 500, "out of memory");
		return -ENOMEM;
	}
	if (vmconfig_parse(body, len, call->cfg, err, sizeof(err))) {
		free(call->cfg);
		call->cfg = NULL;
		api_error(resp, 400, "invalid VmConfig: %s", err);
		return -EINVAL;
	}
	return 0;
}

static int parse_resize(const char *body, size_t len, struct api_call *call,
			struct api_response *resp)
{
	char err[256];

	if (resize_parse(body, len, &call->desired_balloon, err, sizeof(err))) {
		api_error(resp, 400, "vm.resize: %s", err);
		return -EINVAL;
	}
	return 0;
}

int api_route(const char *method, const char *url, const char *body, size_t len,
	      struct api_call *call, struct api_response *resp)
{
	const struct endpoint *e;
	int i;

	memset(call, 0, sizeof(*call));
	i = find_endpoint(url, resp);
	if (i < 0)
		return -EINVAL;
	e = &endpoints[i];
	if (strcmp(method, e->method) != 0) {
		char shown[16];

		quote(shown, sizeof(shown), method);
		api_error(resp, 405, "%s takes %s, not %s", e->name, e->method, shown);
		return -EINVAL;
	}
	if (len > API_MAX_BODY) {
		api_error(resp, 413, "request body larger than %d bytes", API_MAX_BODY);
		return -EINVAL;
	}
	call->ep = (enum api_endpoint)i;
	if (e->body == BODY_CONFIG)
		return parse_config(body, len, call, resp) ? -EINVAL : 0;
	if (e->body == BODY_RESIZE)
		return parse_resize(body, len, call, resp);
	if (len) {
		api_error(resp, 400, "%s takes no request body", e->name);
		return -EINVAL;
	}
	return 0;
}

int api_check_state(enum api_endpoint ep, enum vm_state state, struct api_response *resp)
{
	const char *name = api_endpoint_name(ep);
	bool booted = state == VM_STATE_RUNNING || state == VM_STATE_PAUSED;

	/* The status codes the OpenAPI description gives for each case. */
	switch (ep) {
	case API_VMM_PING:
	case API_VMM_SHUTDOWN:
	case API_VM_DELETE: /* deleting nothing is done at once */
		return 0;
	case API_VM_CREATE:
		if (state == VM_STATE_NONE)
			return 0;
		api_error(resp, 409, "vm.create: a VM is already created (vm.delete it first)");
		return -EINVAL;
	default:
		break;
	}
	if (state == VM_STATE_NONE) {
		api_error(resp, 404, "%s: no VM is created", name);
		return -EINVAL;
	}
	switch (ep) {
	case API_VM_BOOT:
		if (!booted)
			return 0;
		api_error(resp, 409, "vm.boot: the VM is already booted");
		return -EINVAL;
	case API_VM_INFO:
		return 0;
	case API_VM_RESUME:
		if (state == VM_STATE_PAUSED)
			return 0;
		if (state == VM_STATE_RUNNING)
			api_error(resp, 405, "vm.resume: the VM is not paused");
		else
			api_error(resp, 404, "vm.resume: the VM is not booted");
		return -EINVAL;
	case API_VM_RESIZE:
		/* Not booted: the next boot's size.  Paused: no interrupt now. */
		if (state != VM_STATE_PAUSED)
			return 0;
		api_error(resp, 405, "vm.resize: the VM is paused (vm.resume it first)");
		return -EINVAL;
	case API_VM_PAUSE:
	case API_VM_POWER_BUTTON:
		if (state == VM_STATE_RUNNING)
			return 0;
		api_error(resp, 405, "%s: the VM is %s", name,
			  state == VM_STATE_PAUSED ? "paused" : "not booted");
		return -EINVAL;
	default: /* shutdown, reboot, counters, balloon-stats */
		if (booted)
			return 0;
		api_error(resp, 405, "%s: the VM is not booted", name);
		return -EINVAL;
	}
}
