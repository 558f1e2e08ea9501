/* The seccomp sandbox: once sardine has set itself up, a filter on the
 * whole process (every thread, present and future) allows the system calls
 * sardine makes and nothing else: a call off the list stops sardine with
 * one line naming it (SIGSYS).  Threads may be created, processes not (no
 * fork, exec, or clone without CLONE_THREAD); sockets are Unix ones (the
 * API) or the datagram socket the TAP's MTU is read through; ioctls are
 * KVM's, the TAP's, the block layer's and the terminal settings (no
 * TIOCSTI).  io_uring, which the filter cannot see into, is restricted on
 * its own (src/block/ctx.c).  The calls an attacker would want first
 * (exec, ptrace, modules, mounts, namespaces, BPF, keys, the clock) are
 * refused even in sanitizer builds, where other calls off the list are
 * only logged.
 *
 * One filter for all threads, not Firecracker's per-thread lists: a vCPU
 * thread may make any call an I/O thread makes.  `--seccomp log` runs
 * with nothing refused and the kernel logging each call off the list
 * (audit records of type 1326, in dmesg): how the list is kept. */
#ifndef SARDINE_SANDBOX_H
#define SARDINE_SANDBOX_H

#include <stddef.h>

/* 1 in AddressSanitizer builds (gcc's and clang's ways of saying it): there
 * calls off the list are only logged, since the sanitizer's runtime makes
 * calls of its own (LeakSanitizer's tracer, shadow memory). */
#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SARDINE_SANITIZED 1
#endif
#endif
#if !defined(SARDINE_SANITIZED) && defined(__SANITIZE_ADDRESS__)
#define SARDINE_SANITIZED 1
#endif
#ifndef SARDINE_SANITIZED
#define SARDINE_SANITIZED 0
#endif

enum sandbox_mode {
	SANDBOX_ENFORCE, /* refused calls stop sardine (the default) */
	SANDBOX_LOG,     /* calls off the list go through, logged by the kernel */
	SANDBOX_OFF,
};

/* "on", "log" or "off"; -EINVAL otherwise. */
int sandbox_parse_mode(const char *text, enum sandbox_mode *out);
const char *sandbox_mode_name(enum sandbox_mode mode);

/* Installs the filter on every thread of the process; 0 or -errno, and
 * then err says why in one line. */
int sandbox_apply(enum sandbox_mode mode, char *err, size_t errlen);

#endif
