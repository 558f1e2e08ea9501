/* Landlock confinement (vmm/landlock.h), in child processes: a confined
 * sardine reads its kernel, writes its disk, works freely in a writable
 * share (renames and links across its directories included), only reads a
 * read-only one, makes and removes its sockets, reads its own /proc, and
 * reaches nothing else; off confines nothing; on fails where the kernel
 * has no usable Landlock, and auto then runs unconfined. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "vmm/config.h"
#include "vmm/landlock.h"

static char root[64];

static void path(char *buf, size_t len, const char *rel)
{
	snprintf(buf, len, "%s/%s", root, rel);
}

static void make_file(const char *rel)
{
	char p[256];
	int fd;

	path(p, sizeof(p), rel);
	fd = open(p, O_CREAT | O_WRONLY | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "x", 1), 1);
	close(fd);
}

static void make_dir(const char *rel)
{
	char p[256];

	path(p, sizeof(p), rel);
	assert_int_equal(mkdir(p, 0755), 0);
}

static int setup(void **state)
{
	(void)state;
	strcpy(root, "/tmp/sardine-landlock-XXXXXX");
	if (!mkdtemp(root))
		return -1;
	make_dir("share");
	make_dir("share/a");
	make_dir("share/b");
	make_dir("ro");
	make_dir("run");
	make_file("vmlinux");
	make_file("disk.img");
	make_file("outside");
	make_file("share/a/f");
	make_file("ro/g");
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	return system(cmd);
}

static void vm_files(struct vm_config *cfg)
{
	char p[256];

	config_init_defaults(cfg);
	path(p, sizeof(p), "vmlinux");
	cfg->kernel = strdup(p);
	path(p, sizeof(p), "disk.img");
	cfg->disks[0].path = strdup(p);
	cfg->nr_disks = 1;
	path(p, sizeof(p), "share");
	cfg->shares[0].path = strdup(p);
	path(p, sizeof(p), "ro");
	cfg->shares[1].path = strdup(p);
	cfg->shares[1].readonly = true;
	cfg->nr_shares = 2;
}

/* 0 or the errno of opening rel (relative to root, or absolute). */
static int try_open(const char *rel, int flags)
{
	char p[256];
	int fd;

	if (rel[0] == '/')
		snprintf(p, sizeof(p), "%s", rel);
	else
		path(p, sizeof(p), rel);
	fd = open(p, flags | O_CLOEXEC, 0644);
	if (fd < 0)
		return errno;
	close(fd);
	return 0;
}

static int try_at(int (*op)(const char *, const char *), const char *a, const char *b)
{
	char pa[256], pb[256];

	path(pa, sizeof(pa), a);
	path(pb, sizeof(pb), b);
	return op(pa, pb) ? errno : 0;
}

static int unlink_in(const char *rel)
{
	char p[256];

	path(p, sizeof(p), rel);
	return unlink(p) ? errno : 0;
}

static int try_bind(const char *rel)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM, 0), ret = 0;

	path(sa.sun_path, sizeof(sa.sun_path), rel);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		ret = errno;
	close(fd);
	if (!ret && unlink(sa.sun_path) < 0)
		ret = errno;
	return ret;
}

static int try_tcp(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(1) };
	int fd = socket(AF_INET, SOCK_STREAM, 0), ret = 0;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		ret = errno;
	close(fd);
	return ret;
}

/* Each check in the child: its number is the exit status when it fails. */
#define CHECK(n, cond)            \
	do {                      \
		if (!(cond))      \
			_exit(n); \
	} while (0)

static void confined_child(int abi)
{
	CHECK(10, try_open("vmlinux", O_RDONLY) == 0);
	CHECK(11, try_open("vmlinux", O_WRONLY) == EACCES);
	CHECK(12, try_open("disk.img", O_RDWR) == 0);
	CHECK(13, try_open("outside", O_RDONLY) == EACCES);
	CHECK(14, try_open("/etc/passwd", O_RDONLY) == EACCES);
	CHECK(15, try_open("share/a/new", O_CREAT | O_WRONLY) == 0);
	CHECK(16, try_at(rename, "share/a/new", "share/b/moved") == 0);
	CHECK(17, try_at(link, "share/b/moved", "share/a/linked") == 0);
	CHECK(18, try_at(symlink, "moved", "share/b/sym") == 0);
	CHECK(19, try_open("ro/g", O_RDONLY) == 0);
	CHECK(20, try_open("ro/new", O_CREAT | O_WRONLY) == EACCES);
	CHECK(21, try_open("ro/g", O_WRONLY) == EACCES);
	/* EXDEV: refused for moving out of the share, whatever else allows */
	CHECK(22, try_at(rename, "share/a/f", "outside2") == EACCES ||
			  try_at(rename, "share/a/f", "outside2") == EXDEV);
	CHECK(23, try_bind("run/api.sock") == 0);
	CHECK(24, try_open("run/file", O_CREAT | O_WRONLY) == EACCES);
	CHECK(25, try_open("/proc/self/status", O_RDONLY) == 0);
	if (abi >= 4) /* no TCP, not even to a closed port on loopback */
		CHECK(26, try_tcp() == EACCES);
	if (abi >= 6) /* no signal out of the domain, not even an existence check */
		CHECK(29, kill(getppid(), 0) < 0 && errno == EPERM);
	CHECK(27, try_at(rename, "share/b/sym", "share/b/sym2") == 0);
	CHECK(28, unlink_in("share/b/sym2") == 0 && unlink_in("share/b/moved") == 0 &&
			  unlink_in("share/a/linked") == 0);
	_exit(0);
}

static int run_child(enum landlock_mode mode, int *abi_out)
{
	char sock[256], err[256];
	struct vm_config cfg;
	int status, abi = -1, pipefd[2];
	pid_t pid;

	assert_int_equal(pipe(pipefd), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int ret;

		vm_files(&cfg);
		path(sock, sizeof(sock), "run/api.sock");
		ret = landlock_confine(&cfg, sock, mode, &abi, err, sizeof(err));
		if (write(pipefd[1], &abi, sizeof(abi)) != sizeof(abi))
			_exit(2);
		if (ret)
			_exit(3);
		if (abi)
			confined_child(abi);
		_exit(try_open("outside", O_RDONLY) == 0 ? 0 : 4);
	}
	close(pipefd[1]);
	if (read(pipefd[0], &abi, sizeof(abi)) != sizeof(abi))
		abi = -1;
	close(pipefd[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	*abi_out = abi;
	return WEXITSTATUS(status);
}

static void confined_to_the_vms_files(void **state)
{
	int abi;

	(void)state;
	if (landlock_abi() < 2) {
		/* No usable Landlock: on refuses, auto runs unconfined. */
		assert_int_equal(run_child(LANDLOCK_ON, &abi), 3);
		assert_int_equal(run_child(LANDLOCK_AUTO, &abi), 0);
		assert_int_equal(abi, 0);
		return;
	}
	assert_int_equal(run_child(LANDLOCK_ON, &abi), 0);
	assert_int_equal(abi, landlock_abi());
	assert_int_equal(run_child(LANDLOCK_AUTO, &abi), 0);
	assert_true(abi >= 2);
}

static void off_confines_nothing(void **state)
{
	int abi;

	(void)state;
	assert_int_equal(run_child(LANDLOCK_OFF, &abi), 0);
	assert_int_equal(abi, 0);
}

static void modes_parse(void **state)
{
	enum landlock_mode m;

	(void)state;
	assert_int_equal(landlock_parse_mode("auto", &m), 0);
	assert_int_equal(m, LANDLOCK_AUTO);
	assert_int_equal(landlock_parse_mode("on", &m), 0);
	assert_int_equal(m, LANDLOCK_ON);
	assert_int_equal(landlock_parse_mode("off", &m), 0);
	assert_int_equal(m, LANDLOCK_OFF);
	assert_int_equal(landlock_parse_mode("yes", &m), -EINVAL);
	assert_string_equal(landlock_mode_name(LANDLOCK_ON), "on");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		/* Per test: cmocka tears down after a failed test too. */
		cmocka_unit_test_setup_teardown(confined_to_the_vms_files, setup, teardown),
		cmocka_unit_test_setup_teardown(off_confines_nothing, setup, teardown),
		cmocka_unit_test(modes_parse),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
