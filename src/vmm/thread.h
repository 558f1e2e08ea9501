/* Threads sardine starts: vCPUs, I/O event loops, 9p and block workers. */
#ifndef SARDINE_VMM_THREAD_H
#define SARDINE_VMM_THREAD_H

#include <pthread.h>
#include <stddef.h>

/* Stacks well under 2 MiB.  glibc's default is 8 MiB; where the host's
 * transparent huge pages are "always" (RHEL, the box), the top 2 MiB of
 * such a stack becomes one huge page as soon as it sits on a 2 MiB
 * boundary, as the ones placed below 2 MiB aligned guest RAM do: 2 MiB
 * resident for a few KiB used.  A mapping smaller than 2 MiB never holds
 * a huge page.  Every thread's deepest path (9p walks, virtqueue and
 * request parsing) stays far below these sizes, also under ASan. */
#define THREAD_STACK_VCPU (256 * 1024)
#define THREAD_STACK_IO (512 * 1024)

/* pthread_create with that stack size and a name (at most 15 characters
 * show in /proc/PID/task/N/comm, top and CPU accounting), the control
 * loop's signals blocked in the new thread (see thread.c).  0 or -errno. */
int thread_start(pthread_t *thread, size_t stack_size, const char *name,
		 void *(*fn)(void *), void *arg);

#endif
