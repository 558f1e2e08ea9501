#include "vmm/thread.h"

#include <stdio.h>

int thread_start(pthread_t *thread, size_t stack_size, const char *name,
		 void *(*fn)(void *), void *arg)
{
	pthread_attr_t attr;
	char comm[16];
	int ret;

	ret = pthread_attr_init(&attr);
	if (ret)
		return -ret;
	ret = pthread_attr_setstacksize(&attr, stack_size);
	if (!ret)
		ret = pthread_create(thread, &attr, fn, arg);
	pthread_attr_destroy(&attr);
	if (ret)
		return -ret;
	snprintf(comm, sizeof(comm), "%s", name);
	pthread_setname_np(*thread, comm);
	return 0;
}
