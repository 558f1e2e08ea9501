/* Runs one VM from a configuration to its end: KVM, console, signals, the
 * control loop, and reboots (a reboot builds a fresh VM from the same
 * configuration).  Returns the process exit status. */
#ifndef SARDINE_RUNNER_H
#define SARDINE_RUNNER_H

#include "vmm/config.h"

/* Exit statuses of `sardine run`. */
#define EXIT_VM_OK 0
#define EXIT_VM_ERROR 1
#define EXIT_USAGE 2

int vmm_run(const struct vm_config *cfg);

#endif
