/* cloud-hypervisor's VmConfig JSON <-> struct vm_config.
 *
 * The schema is cloud-hypervisor's (OpenAPI VmConfig).  Fields sardine
 * implements map onto struct vm_config; a field it does not implement is
 * accepted only with its OpenAPI default value (which means the same as
 * leaving it out), anything else is refused with the field's path and the
 * reason.  Omitted fields take the OpenAPI defaults (512 MiB, 1 vCPU,
 * mergeable off, serial Null + console Tty ...), not sardine's command-line
 * defaults.  sardine's additions: "shares" (9p), "rng": null (no entropy
 * device), net "fd", balloon "auto".  docs/api.md has the full table. */
#ifndef SARDINE_API_VMCONFIG_H
#define SARDINE_API_VMCONFIG_H

#include <stddef.h>

#include "vmm/config.h"

struct json_object;

/* JSON text -> cfg (initialised here; config_free() it on success).  On
 * error returns -EINVAL (cfg left empty) and writes one line to err, e.g.
 * "disks[0].rate_limiter_config: not supported by sardine". */
int vmconfig_parse(const char *json, size_t len, struct vm_config *cfg, char *err,
		   size_t errlen);
/* The same from a parsed document. */
int vmconfig_from_json(struct json_object *doc, struct vm_config *cfg, char *err,
		       size_t errlen);
/* A file holding a VmConfig (sardine run --config). */
int vmconfig_load(const char *path, struct vm_config *cfg, char *err, size_t errlen);
/* The VmConfig that boots an identical VM when fed back; every count is
 * resolved (a disk's "one queue per vCPU" becomes the number).  NULL on
 * ENOMEM. */
struct json_object *vmconfig_to_json(const struct vm_config *cfg);

#endif
