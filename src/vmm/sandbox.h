/* The seccomp sandbox: once sardine has set itself up, a filter on the
 * whole process (every thread, present and future) refuses the system
 * calls a VMM never makes but an attacker who took over a device thread
 * would want first: running programs, debugging other processes, loading
 * kernel code, mounting, changing namespaces, BPF, keys, the clock.  A
 * refused call stops sardine with one line naming it (SIGSYS).
 *
 * It is a deny-list, not the per-thread allow-lists of Firecracker: every
 * call sardine makes stays allowed, so a device path that needs a new call
 * cannot break in the field.  docs/architecture.md says more. */
#ifndef SARDINE_SANDBOX_H
#define SARDINE_SANDBOX_H

#include <stddef.h>

enum sandbox_mode {
	SANDBOX_ENFORCE, /* refused calls stop sardine (the default) */
	SANDBOX_LOG,     /* refused calls are allowed, and logged by the kernel */
	SANDBOX_OFF,
};

/* "on", "log" or "off"; -EINVAL otherwise. */
int sandbox_parse_mode(const char *text, enum sandbox_mode *out);
const char *sandbox_mode_name(enum sandbox_mode mode);

/* Installs the filter on every thread of the process; 0 or -errno, and
 * then err says why in one line. */
int sandbox_apply(enum sandbox_mode mode, char *err, size_t errlen);

#endif
