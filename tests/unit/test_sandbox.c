/* The seccomp sandbox, in child processes: refused calls and calls off the
 * allow-list stop the process with one line naming the call, allowed ones
 * (threads included) still work, a new process cannot be made even through
 * a raw clone, log mode and off refuse nothing. */
#include <errno.h>
#include <sched.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>
#include <linux/fs.h>
#include <linux/if_tun.h>
#include <linux/kvm.h>
#include <linux/sockios.h>

#include "vmm/sandbox.h"

/* All the child wrote, until it closes (one read could end the pipe early
 * and kill the writer with SIGPIPE). */
static void read_all(int fd, char *buf, size_t len)
{
	size_t got = 0;
	ssize_t n;

	while (got < len - 1 && (n = read(fd, buf + got, len - 1 - got)) > 0)
		got += (size_t)n;
	buf[got] = '\0';
	close(fd);
}

static void *thread_main(void *arg)
{
	return arg;
}

/* A thread (allowed), then `true` (exec, refused unless mode lets it
 * through). */
static void thread_then_exec(void)
{
	char *const argv[] = { "true", NULL };
	pthread_t t;

	if (pthread_create(&t, NULL, thread_main, NULL) || pthread_join(t, NULL))
		_exit(4);
	if (getpid() <= 0)
		_exit(5);
	execv("/bin/true", argv);
}

static void load_a_module(void)
{
	syscall(SYS_init_module, NULL, 0, "");
}

/* Harmless, and not a call sardine makes. */
static void ask_for_parent(void)
{
	syscall(SYS_getppid);
}

/* TIOCSTI pushes bytes into a terminal's input, as if typed. */
static void type_into_terminal(void)
{
	char c = 'x';

	ioctl(STDIN_FILENO, TIOCSTI, &c);
}

/* The requests sardine makes, on no descriptor: EBADF, not a stop. */
static void device_ioctls(void)
{
	unsigned long requests[] = { KVM_CHECK_EXTENSION, KVM_RUN, TUNSETIFF, TUNGETIFF,
				     BLKGETSIZE64, BLKDISCARD, SIOCGIFMTU, TCGETS, TCSETSW };

	for (size_t i = 0; i < sizeof(requests) / sizeof(requests[0]); i++)
		if (ioctl(-1, requests[i], NULL) != -1 || errno != EBADF)
			_exit(7);
}

/* An I/O thread's own switches between the normal and the batch policy
 * pass (vmm/io_sched.h); exits 7 if the kernel refused one. */
static void own_policy_switch(void)
{
	struct sched_param p = { 0 };

	if (sched_setscheduler(0, SCHED_BATCH, &p) || sched_setscheduler(0, SCHED_OTHER, &p))
		_exit(7);
}

/* A task named by its pid (even this one: the filter sees only a number),
 * or a real-time policy: not sardine's to set. */
static void other_policy(void)
{
	struct sched_param p = { 0 };

	sched_setscheduler(getpid(), SCHED_BATCH, &p);
}

static void realtime_policy(void)
{
	struct sched_param p = { .sched_priority = 1 };

	sched_setscheduler(0, SCHED_FIFO, &p);
}

/* fork() the way a shellcode would: clone without CLONE_THREAD.  If the
 * filter let it through, both processes return (and exit 6). */
static void raw_fork(void)
{
	syscall(SYS_clone, (long)SIGCHLD, 0L, 0L, 0L, 0L);
}

/* In a child: the filter in mode, then body; a body that returns exits 6
 * (its call went through without the filter stopping it).  Returns the
 * child's wait status; its stderr in err. */
static int child_status(enum sandbox_mode mode, void (*body)(void), char *err, size_t errlen)
{
	int pipefd[2], status;
	pid_t pid;

	assert_int_equal(pipe(pipefd), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(pipefd[1], STDERR_FILENO);
		close(pipefd[0]);
		char why[256];

		if (sandbox_apply(mode, why, sizeof(why)))
			_exit(3);
		body();
		_exit(6);
	}
	close(pipefd[1]);
	read_all(pipefd[0], err, errlen);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return status;
}

static void exec_is_refused_with_one_line(void **state)
{
	char err[256], want[64];
	int status = child_status(SANDBOX_ENFORCE, thread_then_exec, err, sizeof(err));

	(void)state;
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 1);
	snprintf(want, sizeof(want), "refused system call %d ", (int)SYS_execve);
	assert_non_null(strstr(err, want));
	assert_non_null(strchr(err, '\n'));
}

static void log_and_off_refuse_nothing(void **state)
{
	char err[256];
	int status;

	(void)state;
	status = child_status(SANDBOX_LOG, thread_then_exec, err, sizeof(err));
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0); /* /bin/true ran */
	status = child_status(SANDBOX_OFF, thread_then_exec, err, sizeof(err));
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

static void mount_and_modules_are_refused(void **state)
{
	char err[256];
	int status = child_status(SANDBOX_ENFORCE, load_a_module, err, sizeof(err));

	(void)state;
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 1);
	assert_non_null(strstr(err, "seccomp"));
}

/* body's call stops the child with one line naming system call nr; under
 * a sanitizer (calls off the list only logged) it goes through. */
static void assert_refused(void (*body)(void), long nr)
{
	char err[256], want[64];
	int status = child_status(SANDBOX_ENFORCE, body, err, sizeof(err));

	assert_true(WIFEXITED(status));
	if (SARDINE_SANITIZED) {
		assert_int_equal(WEXITSTATUS(status), 6);
		return;
	}
	assert_int_equal(WEXITSTATUS(status), 1);
	snprintf(want, sizeof(want), "refused system call %ld ", nr);
	assert_non_null(strstr(err, want));
}

static void calls_off_the_list_are_refused(void **state)
{
	(void)state;
	assert_refused(ask_for_parent, SYS_getppid);
}

/* Under a sanitizer only logged: LeakSanitizer's tracer is such a clone. */
static void a_raw_fork_is_refused(void **state)
{
	(void)state;
	assert_refused(raw_fork, SYS_clone);
}

static void ioctls_are_checked_by_request(void **state)
{
	char err[256];
	int status = child_status(SANDBOX_ENFORCE, device_ioctls, err, sizeof(err));

	(void)state;
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 6);
	assert_refused(type_into_terminal, SYS_ioctl);
}

static void only_own_batch_or_normal_policy(void **state)
{
	char err[256];
	int status = child_status(SANDBOX_ENFORCE, own_policy_switch, err, sizeof(err));

	(void)state;
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 6);
	assert_refused(other_policy, SYS_sched_setscheduler);
	assert_refused(realtime_policy, SYS_sched_setscheduler);
}

static void modes_parse(void **state)
{
	enum sandbox_mode m;

	(void)state;
	assert_int_equal(sandbox_parse_mode("on", &m), 0);
	assert_int_equal(m, SANDBOX_ENFORCE);
	assert_int_equal(sandbox_parse_mode("log", &m), 0);
	assert_int_equal(m, SANDBOX_LOG);
	assert_int_equal(sandbox_parse_mode("off", &m), 0);
	assert_int_equal(m, SANDBOX_OFF);
	assert_int_equal(sandbox_parse_mode("yes", &m), -EINVAL);
	assert_int_equal(sandbox_parse_mode("", &m), -EINVAL);
	assert_string_equal(sandbox_mode_name(SANDBOX_LOG), "log");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(exec_is_refused_with_one_line),
		cmocka_unit_test(log_and_off_refuse_nothing),
		cmocka_unit_test(mount_and_modules_are_refused),
		cmocka_unit_test(calls_off_the_list_are_refused),
		cmocka_unit_test(a_raw_fork_is_refused),
		cmocka_unit_test(ioctls_are_checked_by_request),
		cmocka_unit_test(only_own_batch_or_normal_policy),
		cmocka_unit_test(modes_parse),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
