/* The VmConfig parser's own parts, shared by vmconfig.c (the walker, the
 * top level, cpus, memory, payload) and vmconfig_devices.c (disks, net,
 * rng, balloon, shares, serial and console).  Not an interface: the API is
 * vmconfig.h. */
#ifndef SARDINE_API_VMCONFIG_PARSE_H
#define SARDINE_API_VMCONFIG_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmm/config.h"

struct json_object;

#define MAX_PATH_LEN 4096
#define MAX_CMDLINE_LEN 4096
#define MAX_QUEUES 64

/* cloud-hypervisor's ConsoleMode. */
enum con_mode { MODE_OFF, MODE_PTY, MODE_TTY, MODE_FILE, MODE_SOCKET, MODE_NULL };

struct jctx {
	struct vm_config *cfg;
	char *err;
	size_t errlen;
	char path[160]; /* where in the document we are: "disks[0].path" */
	size_t path_len;
	enum con_mode serial, console;
	bool have_boot_vcpus, have_mem_size, have_kernel;
	unsigned long max_vcpus;
};

typedef int (*parse_fn)(struct jctx *c, struct json_object *v, void *obj);

struct field {
	const char *key;
	parse_fn parse; /* NULL: sardine does not implement it */
	const char *only; /* ... then the one value accepted (JSON), if any */
	const char *hint; /* ... and what to do instead */
};

/* Each of these reports the error at the current path and returns -EINVAL. */
int vc_fail(struct jctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int vc_get_bool(struct jctx *c, struct json_object *v, bool *out);
int vc_get_uint(struct jctx *c, struct json_object *v, uint64_t min, uint64_t max,
		uint64_t *out);
/* A string without NUL bytes, 1 to max characters, into a fresh copy. */
int vc_get_string(struct jctx *c, struct json_object *v, size_t max, char **out);
/* The same into a fixed buffer of max+1 bytes. */
int vc_get_string_buf(struct jctx *c, struct json_object *v, char *buf, size_t max);
/* Each member of object o through its entry in fields (NULL-key ended). */
int vc_walk(struct jctx *c, struct json_object *o, const struct field *fields, void *obj);
/* Calls item(c, element, index) for each element of an array of at most max. */
int vc_walk_array(struct jctx *c, struct json_object *a, size_t max,
		  int (*item)(struct jctx *c, struct json_object *v, size_t i));
int vc_require(struct jctx *c, bool present, const char *key);

/* vmconfig_devices.c */
int vc_parse_disks(struct jctx *c, struct json_object *v, void *obj);
int vc_parse_nets(struct jctx *c, struct json_object *v, void *obj);
int vc_parse_rng(struct jctx *c, struct json_object *v, void *obj);
int vc_parse_balloon(struct jctx *c, struct json_object *v, void *obj);
int vc_parse_shares(struct jctx *c, struct json_object *v, void *obj);
int vc_parse_serial(struct jctx *c, struct json_object *v, void *obj);
int vc_parse_console(struct jctx *c, struct json_object *v, void *obj);
/* serial + console -> cfg->console, once the whole document is read. */
int vc_resolve_console(struct jctx *c);

#endif
