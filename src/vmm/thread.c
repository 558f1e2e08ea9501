#include "vmm/thread.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>

/* The process-directed signals the control loop reads from its signalfd,
 * and the vCPU kick.  A thread that does not block them may be the one the
 * kernel hands SIGTERM to, and its default action ends sardine without
 * any cleanup (API socket, terminal, guest): the block workers of a
 * --disk, created before the control loop blocks these, did exactly that.
 * So every thread starts with them blocked, whatever its creator's mask;
 * vCPU threads unblock their kick for themselves.  Synchronous signals
 * (SIGSYS from the seccomp filter, SIGSEGV) stay deliverable. */
static void control_signals(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGHUP);
	sigaddset(set, SIGUSR1);
	sigaddset(set, SIGUSR2);
}

struct thread_start_args {
	void *(*fn)(void *);
	void *arg;
	char comm[16];
};

/* The thread names itself: naming another thread writes its
 * /proc/self/task/TID/comm, which Landlock (vmm/landlock.h) refuses. */
static void *thread_main(void *opaque)
{
	struct thread_start_args a = *(struct thread_start_args *)opaque;

	free(opaque);
	prctl(PR_SET_NAME, a.comm, 0, 0, 0);
	return a.fn(a.arg);
}

int thread_start(pthread_t *thread, size_t stack_size, const char *name,
		 void *(*fn)(void *), void *arg)
{
	struct thread_start_args *a = malloc(sizeof(*a));
	pthread_attr_t attr;
	sigset_t block, old;
	int ret;

	if (!a)
		return -ENOMEM;
	a->fn = fn;
	a->arg = arg;
	snprintf(a->comm, sizeof(a->comm), "%s", name);
	ret = pthread_attr_init(&attr);
	if (ret) {
		free(a);
		return -ret;
	}
	control_signals(&block);
	/* The new thread inherits the mask in force at pthread_create. */
	pthread_sigmask(SIG_BLOCK, &block, &old);
	ret = pthread_attr_setstacksize(&attr, stack_size);
	if (!ret)
		ret = pthread_create(thread, &attr, thread_main, a);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_attr_destroy(&attr);
	if (ret) {
		free(a);
		return -ret;
	}
	return 0;
}
