/* The VMM process: a context that outlives VMs.  It owns KVM, the control
 * event loop (sardine's main thread), signals, the consoles and the API
 * socket; a VM is built from the configuration at boot and torn down at
 * shutdown, reboot (then built again) or delete.
 *
 *   sardine run    starts with a configuration and boots it at once; the
 *                  process ends when the guest powers off (or fails).
 *   sardine serve  starts with no VM and waits for vm.create and vm.boot;
 *                  only vmm.shutdown or a signal ends it.
 * Both serve the REST API on a socket (see api/socket.h for names and
 * paths) unless the socket is "none".  Once the API socket is bound, the
 * seccomp sandbox (vmm/sandbox.h) closes in, and Landlock (vmm/landlock.h)
 * as soon as the VM's files are known.  Returns the process exit status. */
#ifndef SARDINE_RUNNER_H
#define SARDINE_RUNNER_H

#include "vmm/config.h"
#include "vmm/landlock.h"
#include "vmm/sandbox.h"

/* Exit statuses of `sardine run`. */
#define EXIT_VM_OK 0
#define EXIT_VM_ERROR 1
#define EXIT_USAGE 2

/* cfg->name ("": generated) and cfg->api_socket (NULL: the default path,
 * "none": no API) name the VM and its socket. */
struct vmm_sandbox {
	enum sandbox_mode seccomp;
	enum landlock_mode landlock;
};

int vmm_run(const struct vm_config *cfg, const struct vmm_sandbox *sandbox);
int vmm_serve(const char *name, const char *api_socket, const struct vmm_sandbox *sandbox);

#endif
