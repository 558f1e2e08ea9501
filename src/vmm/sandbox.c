#include "vmm/sandbox.h"

#include <dlfcn.h>
#include <errno.h>
#include <malloc.h>
#include <seccomp.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "vmm/dl.h"

#if defined(__has_feature)
#if __has_feature(address_sanitizer) /* clang's way of saying it */
#define SARDINE_HAS_ASAN 1
#endif
#endif
#ifndef SARDINE_HAS_ASAN
#define SARDINE_HAS_ASAN 0
#endif

/* What sardine never calls.  Threads come from clone/clone3 and stay
 * allowed; a new process never does (fork, vfork, exec*). */
static const char *const denied[] = {
	"execve", "execveat", "fork", "vfork",
	/* other processes' memory */
	"process_vm_readv", "process_vm_writev", "kcmp",
#if !defined(__SANITIZE_ADDRESS__) && !SARDINE_HAS_ASAN
	"ptrace", /* LeakSanitizer stops threads with it at exit */
#endif
	/* the kernel itself */
	"init_module", "finit_module", "delete_module", "kexec_load", "kexec_file_load",
	"bpf", "perf_event_open", "iopl", "ioperm", "syslog", "reboot", "swapon", "swapoff",
	"acct", "quotactl", "uselib", "personality", "vhangup",
	/* mounts and namespaces */
	"mount", "umount2", "pivot_root", "chroot", "fsopen", "fsconfig", "fsmount", "fspick",
	"move_mount", "open_tree", "mount_setattr", "unshare", "setns",
	/* file handles pass around path checks (the 9p server's included) */
	"name_to_handle_at", "open_by_handle_at",
	/* keys, the clock, the host's identity */
	"add_key", "request_key", "keyctl", "settimeofday", "clock_settime", "clock_adjtime",
	"adjtimex", "sethostname", "setdomainname", "userfaultfd",
};

/* Async-signal-safe: one line, then out.  No logger, no stdio. */
static void on_sigsys(int sig, siginfo_t *info, void *uc)
{
	static const char head[] = "sardine: seccomp: refused system call ";
	static const char tail[] = " (a call sardine never makes: stopping)\n";
	char num[12];
	int n = info->si_syscall, i = (int)sizeof(num);

	(void)sig;
	(void)uc;
	do {
		num[--i] = (char)('0' + n % 10);
		n /= 10;
	} while (n > 0 && i > 0);
	if (write(STDERR_FILENO, head, sizeof(head) - 1) < 0 ||
	    write(STDERR_FILENO, num + i, sizeof(num) - (size_t)i) < 0 ||
	    write(STDERR_FILENO, tail, sizeof(tail) - 1) < 0)
		_exit(1);
	_exit(1);
}

int sandbox_parse_mode(const char *text, enum sandbox_mode *out)
{
	if (strcmp(text, "on") == 0)
		*out = SANDBOX_ENFORCE;
	else if (strcmp(text, "log") == 0)
		*out = SANDBOX_LOG;
	else if (strcmp(text, "off") == 0)
		*out = SANDBOX_OFF;
	else
		return -EINVAL;
	return 0;
}

const char *sandbox_mode_name(enum sandbox_mode mode)
{
	return mode == SANDBOX_ENFORCE ? "on" : mode == SANDBOX_LOG ? "log" : "off";
}

/* libseccomp is needed once, to compile the filter: sardine opens it with
 * dlopen() and closes it when the filter is in the kernel, so its pages
 * (~130 KiB) and the heap its compiler dirtied do not stay in every VM's
 * memory.  The soname is the ABI seccomp.h, which we compile against,
 * describes. */
#define SECCOMP_SONAME "libseccomp.so.2"

struct seccomp_lib {
	void *handle;
	__typeof__(&seccomp_init) init;
	__typeof__(&seccomp_attr_set) attr_set;
	__typeof__(&seccomp_syscall_resolve_name) resolve_name;
	__typeof__(&seccomp_rule_add) rule_add;
	__typeof__(&seccomp_load) load;
	__typeof__(&seccomp_release) release;
};

#define SECCOMP_SYM(field, fn) { #fn, offsetof(struct seccomp_lib, field) }
static const struct dl_symbol seccomp_symbols[] = {
	SECCOMP_SYM(init, seccomp_init),
	SECCOMP_SYM(attr_set, seccomp_attr_set),
	SECCOMP_SYM(resolve_name, seccomp_syscall_resolve_name),
	SECCOMP_SYM(rule_add, seccomp_rule_add),
	SECCOMP_SYM(load, seccomp_load),
	SECCOMP_SYM(release, seccomp_release),
};

static int add_rules(const struct seccomp_lib *lib, scmp_filter_ctx ctx, uint32_t action)
{
	for (size_t i = 0; i < sizeof(denied) / sizeof(denied[0]); i++) {
		int nr = lib->resolve_name(denied[i]);
		int ret;

		if (nr == __NR_SCMP_ERROR)
			continue; /* older than this libseccomp: nothing to refuse */
		ret = lib->rule_add(ctx, action, nr, 0);
		if (ret && ret != -EEXIST)
			return ret;
	}
	return 0;
}

static int install(const struct seccomp_lib *lib, enum sandbox_mode mode)
{
	scmp_filter_ctx ctx = lib->init(SCMP_ACT_ALLOW);
	int ret;

	if (!ctx)
		return -ENOMEM;
	/* Every thread at once: the I/O threads already run. */
	ret = lib->attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1);
	if (!ret)
		ret = add_rules(lib, ctx, mode == SANDBOX_ENFORCE ? SCMP_ACT_TRAP : SCMP_ACT_LOG);
	if (!ret)
		ret = lib->load(ctx);
	lib->release(ctx);
	return ret > 0 ? -EIO : ret;
}

int sandbox_apply(enum sandbox_mode mode, char *err, size_t errlen)
{
	struct sigaction sa = { .sa_sigaction = on_sigsys, .sa_flags = SA_SIGINFO };
	struct seccomp_lib lib;
	int ret;

	if (mode == SANDBOX_OFF)
		return 0;
	if (mode == SANDBOX_ENFORCE && sigaction(SIGSYS, &sa, NULL)) {
		snprintf(err, errlen, "SIGSYS handler: %s", strerror(errno));
		return -errno;
	}
	memset(&lib, 0, sizeof(lib));
	lib.handle = dl_open_table(SECCOMP_SONAME, seccomp_symbols,
				   sizeof(seccomp_symbols) / sizeof(seccomp_symbols[0]), &lib, err, errlen);
	if (!lib.handle)
		return -ENOENT;
	ret = install(&lib, mode);
	if (ret)
		snprintf(err, errlen, "%s", strerror(-ret));
	dlclose(lib.handle);
	/* The filter compiler's freed heap goes back to the kernel. */
	malloc_trim(0);
	return ret;
}
