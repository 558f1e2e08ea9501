#include "vmm/sandbox.h"

#include <dlfcn.h>
#include <errno.h>
#include <malloc.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "vmm/dl.h"

/* Every system call sardine makes once it is set up, through glibc, liburing,
 * libmicrohttpd and the 9P server; anything else stops it.  Kept
 * by running the whole test suite with --seccomp log (the kernel logs each
 * call off the list as an audit record, type=1326). */
static const char *const allowed[] = {
	/* memory, threads and signals (glibc's malloc and pthreads) */
	"brk", "mmap", "munmap", "mremap", "mprotect", "madvise", "futex", "set_robust_list",
	"rseq", "sched_yield", "sched_getaffinity", "gettid", "getpid", "tgkill", "exit",
	"exit_group", "rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "sigaltstack", "prctl",
	"restart_syscall",
	/* time */
	"clock_gettime", "clock_getres", "clock_nanosleep", "nanosleep", "gettimeofday", "time",
	/* descriptors and files: images, kernels, /proc, the 9P server's tree */
	"read", "write", "readv", "writev", "pread64", "pwrite64", "preadv", "pwritev", "preadv2",
	"pwritev2", "open", "openat", "openat2", "close", "dup", "dup3", "fcntl", "flock", "lseek",
	"fstat", "stat", "lstat", "newfstatat", "statx", "fstatfs", "statfs", "fsync", "fdatasync",
	"fallocate", "ftruncate", "getdents64", "mkdir", "mkdirat", "mknodat", "unlink", "unlinkat",
	"rename", "renameat", "renameat2", "linkat", "symlinkat", "readlink", "readlinkat",
	/* chmod: glibc's fchmodat(AT_SYMLINK_NOFOLLOW) goes through /proc/self/fd */
	"chmod", "fchmod", "fchmodat", "fchmodat2", "fchown", "fchownat", "utimensat", "access",
	"faccessat", "faccessat2",
	"getxattr", "lgetxattr", "fgetxattr", "setxattr", "lsetxattr", "fsetxattr", "listxattr",
	"llistxattr", "flistxattr", "removexattr", "lremovexattr", "fremovexattr",
	/* event loops */
	"epoll_create1", "epoll_ctl", "epoll_wait", "epoll_pwait", "epoll_pwait2", "eventfd2",
	"timerfd_create", "timerfd_settime", "timerfd_gettime", "signalfd4", "poll", "ppoll",
	"select", "pselect6", "pipe2",
	/* the API socket (socket() itself has a rule of its own) */
	"bind", "listen", "accept", "accept4", "connect", "recvfrom", "sendto", "recvmsg", "sendmsg",
	"shutdown", "getsockopt", "setsockopt", "getsockname", "getpeername",
	/* disks (ioctl has rules of its own) */
	"io_uring_setup", "io_uring_enter", "io_uring_register",
	/* identity and limits */
	"getrandom", "prlimit64", "getrlimit", "setrlimit", "getuid", "geteuid", "getgid",
	"getegid", "uname", "sysinfo",
	/* Landlock: a domain can only narrow what is allowed (vmm/landlock.h) */
	"landlock_create_ruleset", "landlock_add_rule", "landlock_restrict_self",
};

/* Calls an attacker who took over a device thread would want first:
 * refused even where a sanitizer's runtime lets unknown calls through. */
static const char *const denied[] = {
	"execve", "execveat", "fork", "vfork",
	/* other processes' memory */
	"process_vm_readv", "process_vm_writev", "kcmp",
#if !SARDINE_SANITIZED
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
	static const char tail[] = " (not one sardine makes: stopping)\n";
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

static int add_list(const struct seccomp_lib *lib, scmp_filter_ctx ctx, const char *const *names,
		    size_t nr_names, uint32_t action)
{
	for (size_t i = 0; i < nr_names; i++) {
		int nr = lib->resolve_name(names[i]);
		int ret;

		if (nr == __NR_SCMP_ERROR)
			continue; /* older than this libseccomp: sardine does not use it */
		ret = lib->rule_add(ctx, action, nr, 0);
		if (ret && ret != -EEXIST)
			return ret;
	}
	return 0;
}

/* The calls allowed only with some arguments. */
static int add_arg_rules(const struct seccomp_lib *lib, scmp_filter_ctx ctx)
{
	int ret;

	/* Threads, never processes.  clone3 keeps its flags in memory that a
	 * filter cannot read: it answers ENOSYS, and glibc then creates the
	 * thread with clone, whose flags the filter checks. */
	ret = lib->rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
	if (!ret)
		ret = lib->rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(clone), 1,
				    SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD, CLONE_THREAD));
	/* The API's Unix sockets, and the datagram socket that TAP link
	 * ioctls go through. */
	if (!ret)
		ret = lib->rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1,
				    SCMP_A0(SCMP_CMP_EQ, AF_UNIX));
	if (!ret)
		ret = lib->rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 2,
				    SCMP_A0(SCMP_CMP_EQ, AF_INET),
				    SCMP_A1(SCMP_CMP_MASKED_EQ, 0xf, SOCK_DGRAM));
	/* An I/O thread switching itself between the normal and the batch
	 * policy (vmm/io_sched.h); no other thread, no other policy. */
	if (!ret)
		ret = lib->rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(sched_setscheduler), 2,
				    SCMP_A0(SCMP_CMP_EQ, 0), SCMP_A1(SCMP_CMP_EQ, SCHED_OTHER));
	if (!ret)
		ret = lib->rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(sched_setscheduler), 2,
				    SCMP_A0(SCMP_CMP_EQ, 0), SCMP_A1(SCMP_CMP_EQ, SCHED_BATCH));
	return ret;
}

/* ioctl by request: KVM's, the TAP's and the block layer's by their type
 * byte (and the TAP's by a direction bit, which no terminal request has),
 * the network device requests of the TAP's link socket, and the terminal
 * settings.  Not TIOCSTI, which types into a terminal. */
static int add_ioctl_rules(const struct seccomp_lib *lib, scmp_filter_ctx ctx)
{
	static const struct { uint32_t mask, value; } typed[] = {
		{ 0x0000ff00, 0xae00 },     /* KVM */
		{ 0x4000ff00, 0x40005400 }, /* TUNSET* */
		{ 0x8000ff00, 0x80005400 }, /* TUNGET* */
		{ 0x0000ff00, 0x1200 },     /* BLK* */
		{ 0x0000ff00, 0x8900 },     /* SIOC* (the TAP's MTU) */
	};
	static const unsigned long tty[] = { TCGETS, TCSETS, TCSETSW, TCSETSF, TIOCGWINSZ };
	int ret = 0;

	for (size_t i = 0; i < sizeof(typed) / sizeof(typed[0]) && !ret; i++)
		ret = lib->rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
				    SCMP_A1(SCMP_CMP_MASKED_EQ, typed[i].mask, typed[i].value));
	for (size_t i = 0; i < sizeof(tty) / sizeof(tty[0]) && !ret; i++)
		ret = lib->rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
				    SCMP_A1(SCMP_CMP_EQ, tty[i]));
	return ret;
}

static int install(const struct seccomp_lib *lib, enum sandbox_mode mode)
{
	uint32_t refuse = mode == SANDBOX_ENFORCE ? SCMP_ACT_TRAP : SCMP_ACT_LOG;
	/* A sanitizer's runtime makes calls of its own (LeakSanitizer's
	 * tracer, shadow memory): under one, calls off the list are logged,
	 * and only the denied ones stop the process. */
	uint32_t unknown = SARDINE_SANITIZED ? SCMP_ACT_LOG : refuse;
	scmp_filter_ctx ctx = lib->init(unknown);
	int ret;

	if (!ctx)
		return -ENOMEM;
	/* Every thread at once: the I/O threads already run. */
	ret = lib->attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1);
	/* A binary tree of syscall numbers rather than a chain of ~150
	 * comparisons before each call (KVM_RUN's ioctl included); older
	 * libseccomp lacks it, and the chain works the same. */
	if (!ret)
		lib->attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);
	if (!ret)
		ret = add_list(lib, ctx, allowed, sizeof(allowed) / sizeof(allowed[0]),
			       SCMP_ACT_ALLOW);
	if (!ret)
		ret = add_arg_rules(lib, ctx);
	if (!ret)
		ret = add_ioctl_rules(lib, ctx);
	/* libseccomp refuses a rule that repeats the default action. */
	if (!ret && refuse != unknown)
		ret = add_list(lib, ctx, denied, sizeof(denied) / sizeof(denied[0]), refuse);
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
