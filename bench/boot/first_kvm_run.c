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
	if (request == KVM_RUN && !__atomic_exchange_n(&seen, 1, __ATOMIC_SEQ_CST)) {
		const char *path = getenv("FIRST_KVM_RUN_FILE");
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		if (path) {
			char line[64];
			int out = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
			int n = snprintf(line, sizeof(line), "%lld\n",
					 (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec);

			if (out >= 0) {
				if (write(out, line, (size_t)n) < 0)
					n = 0;
				close(out);
			}
		}
	}
	return real(fd, request, arg);
}
