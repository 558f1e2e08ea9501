/* How much memory the host (or the memory cgroup sardine runs in) has left,
 * and how much it is struggling: the inputs of automatic ballooning. */
#ifndef SARDINE_HOSTMEM_H
#define SARDINE_HOSTMEM_H

#include <stdint.h>

struct host_memory {
	uint64_t total;       /* bytes: MemTotal, or the cgroup's memory.max */
	uint64_t available;   /* bytes: MemAvailable, or max - current if lower */
	double pressure_avg10; /* PSI "some" avg10, percent */
};

/* Reads /proc/meminfo, /proc/pressure/memory and, when sardine is in a
 * cgroup v2 with a memory limit, that cgroup's memory.max, memory.current
 * and memory.pressure.  procfs/cgroupfs roots are parameters for tests. */
int host_memory_read(struct host_memory *out, const char *proc_root, const char *cgroup_root);

#endif
