/* LD_PRELOAD shim for the boot benchmark: records when a VMM process first
 * calls KVM_RUN (CLOCK_REALTIME, nanoseconds) into $FIRST_KVM_RUN_FILE.
 * Works the same for sardine and QEMU; costs one comparison per ioctl. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

typedef int (*ioctl_fn)(int, unsigned long, ...);

static int seen;
static int stamp_fd = -1;

/* The file is opened at load, before the VMM runs any code of its own: a
 * VMM that sandboxes itself (sardine: Landlock and seccomp before its first
 * KVM_RUN) may not open files any more by the time it enters the guest. */
__attribute__((constructor)) static void open_stamp(void)
{
	const char *path = getenv("FIRST_KVM_RUN_FILE");

	if (path)
		stamp_fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
}

int ioctl(int fd, unsigned long request, ...)
{
	static ioctl_fn real;
	va_list ap;
	void *arg;

	va_start(ap, request);
	arg = va_arg(ap, void *);
	va_end(ap);
	if (!real)
		real = (ioctl_fn)dlsym(RTLD_NEXT, "ioctl");
	if (request == KVM_RUN && !__atomic_exchange_n(&seen, 1, __ATOMIC_SEQ_CST) && stamp_fd >= 0) {
		struct timespec ts;
		char line[64];
		int n;

		clock_gettime(CLOCK_REALTIME, &ts);
		n = snprintf(line, sizeof(line), "%lld\n", (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec);
		if (write(stamp_fd, line, (size_t)n) < 0)
			n = 0;
	}
	return real(fd, request, arg);
}
