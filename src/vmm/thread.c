#include "vmm/thread.h"

#include <signal.h>
#include <stdio.h>

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

int thread_start(pthread_t *thread, size_t stack_size, const char *name,
		 void *(*fn)(void *), void *arg)
{
	pthread_attr_t attr;
	sigset_t block, old;
	char comm[16];
	int ret;

	ret = pthread_attr_init(&attr);
	if (ret)
		return -ret;
	control_signals(&block);
	/* The new thread inherits the mask in force at pthread_create. */
	pthread_sigmask(SIG_BLOCK, &block, &old);
	ret = pthread_attr_setstacksize(&attr, stack_size);
	if (!ret)
		ret = pthread_create(thread, &attr, fn, arg);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_attr_destroy(&attr);
	if (ret)
		return -ret;
	snprintf(comm, sizeof(comm), "%s", name);
	pthread_setname_np(*thread, comm);
	return 0;
}
