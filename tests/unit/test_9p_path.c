/* 9P path security and the security models, driven through the server the
 * way a hostile guest would: "..", names with '/', symlinks pointing out, a
 * symlink swapped in while walking, /proc magic links, hard links, a
 * read-only share, and mapped ownership. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>
#include <cmocka.h>

#include "9p/internal.h"
#include "p9_client.h"

struct fixture {
	char top[64];      /* holds share/ and outside/ */
	char share[96];
	struct tclient *c;
};

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static int setup_mode(void **state, bool ro, bool mapped)
{
	struct fixture *fx = calloc(1, sizeof(*fx));
	struct p9_config cfg = { .readonly = ro, .mapped = mapped };
	char p[192];

	strcpy(fx->top, "/tmp/sardine-9p-path.XXXXXX");
	if (!mkdtemp(fx->top))
		return -1;
	snprintf(fx->share, sizeof(fx->share), "%s/share", fx->top);
	mkdir(fx->share, 0755);
	snprintf(p, sizeof(p), "%s/outside", fx->top);
	mkdir(p, 0755);
	snprintf(p, sizeof(p), "%s/outside/secret", fx->top);
	write_file(p, "HOSTSECRET");
	snprintf(p, sizeof(p), "%s/sub", fx->share);
	mkdir(p, 0755);
	snprintf(p, sizeof(p), "%s/sub/secret", fx->share);
	write_file(p, "inside");
	snprintf(p, sizeof(p), "%s/file", fx->share);
	write_file(p, "hello");
	/* Links that point out of the share, by absolute and relative path. */
	snprintf(p, sizeof(p), "%s/abs", fx->share);
	if (symlink(fx->top, p))
		return -1;
	snprintf(p, sizeof(p), "%s/rel", fx->share);
	if (symlink("../outside", p))
		return -1;
	snprintf(p, sizeof(p), "%s/proc", fx->share);
	if (symlink("/proc/self/root", p))
		return -1;
	cfg.root = fx->share;
	fx->c = calloc(1, sizeof(*fx->c));
	if (p9_server_create(&fx->c->s, &cfg))
		return -1;
	fx->c->w = p9_worker_create();
	if (t_version(fx->c, 512 * 1024) || t_attach(fx->c, 1, 0))
		return -1;
	*state = fx;
	return 0;
}

static int setup(void **state)
{
	return setup_mode(state, false, false);
}

static int setup_ro(void **state)
{
	return setup_mode(state, true, false);
}

static int setup_mapped(void **state)
{
	return setup_mode(state, false, true);
}

static int teardown(void **state)
{
	struct fixture *fx = *state;
	char cmd[128];

	p9_worker_destroy(fx->c->w);
	p9_server_destroy(fx->c->s);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", fx->top);
	if (system(cmd))
		return -1;
	free(fx->c);
	free(fx);
	return 0;
}

static void dotdot_stays_in_the_share(void **state)
{
	struct tclient *c = ((struct fixture *)*state)->c;
	const char *up[] = { "..", NULL };
	const char *up3[] = { "..", "..", "..", NULL };
	const char *down_up[] = { "sub", "..", "..", NULL };
	struct tattr root, a;

	assert_int_equal(t_getattr(c, 1, &root), 0);
	assert_int_equal(t_walk(c, 1, 2, up), 1);
	assert_int_equal(t_getattr(c, 2, &a), 0);
	assert_int_equal(a.qpath, root.qpath);
	assert_int_equal(t_walk(c, 1, 3, up3), 3);
	assert_int_equal(t_getattr(c, 3, &a), 0);
	assert_int_equal(a.qpath, root.qpath);
	assert_int_equal(t_walk(c, 1, 4, down_up), 3);
	assert_int_equal(t_getattr(c, 4, &a), 0);
	assert_int_equal(a.qpath, root.qpath);
	/* ".." from a file is not a directory walk. */
	assert_int_equal(t_walk1(c, 1, 5, "file"), 0);
	assert_int_equal(t_walk1(c, 5, 6, ".."), -ENOTDIR);
}

static void bad_names_refused(void **state)
{
	struct tclient *c = ((struct fixture *)*state)->c;

	assert_int_equal(t_walk1(c, 1, 2, "sub/secret"), -EINVAL);
	assert_int_equal(t_walk1(c, 1, 2, "."), -EINVAL);
	assert_int_equal(t_walk1(c, 1, 2, ""), -EINVAL);
	assert_int_equal(t_walk1(c, 1, 2, "../outside"), -EINVAL);
	assert_int_equal(t_walk1(c, 1, 2, NULL), 0);
	assert_int_equal(t_lcreate(c, 2, "..", P9_DOTL_RDWR, 0644, 0), -EINVAL);
	assert_int_equal(t_lcreate(c, 2, "a/b", P9_DOTL_RDWR, 0644, 0), -EINVAL);
	/* mkdir "..", unlinkat "..", renameat to "../x". */
	t_begin(c, P9_TMKDIR, 1);
	t_put(c, 1, 4);
	t_str(c, "..");
	t_put(c, 0755, 4);
	t_put(c, 0, 4);
	assert_int_equal(t_send(c), P9_RLERROR);
	assert_int_equal(t_err(c), EINVAL);
	t_begin(c, P9_TUNLINKAT, 1);
	t_put(c, 1, 4);
	t_str(c, "..");
	t_put(c, P9_AT_REMOVEDIR, 4);
	assert_int_equal(t_send(c), P9_RLERROR);
	t_begin(c, P9_TRENAMEAT, 1);
	t_put(c, 1, 4);
	t_str(c, "file");
	t_put(c, 1, 4);
	t_str(c, "../stolen");
	assert_int_equal(t_send(c), P9_RLERROR);
	assert_int_equal(t_err(c), EINVAL);
}

/* Walking through a symlink never follows it on the host. */
static void symlinks_are_not_followed(void **state)
{
	struct tclient *c = ((struct fixture *)*state)->c;
	const char *abs_path[] = { "abs", "outside", "secret", NULL };
	const char *rel_path[] = { "rel", "secret", NULL };
	const char *proc_path[] = { "proc", "etc", NULL };
	struct tattr a;
	char buf[64];

	/* Partial walks: one qid (the link itself), no new fid. */
	assert_int_equal(t_walk(c, 1, 2, abs_path), 1);
	assert_int_equal(t_getattr(c, 2, &a), -EBADF);
	assert_int_equal(t_walk(c, 1, 2, rel_path), 1);
	assert_int_equal(t_walk(c, 1, 2, proc_path), 1);
	/* The link itself can be walked to and read, not opened. */
	assert_int_equal(t_walk1(c, 1, 3, "abs"), 0);
	assert_int_equal(t_getattr(c, 3, &a), 0);
	assert_true(S_ISLNK(a.mode));
	assert_int_equal(t_lopen(c, 3, 0), -ELOOP);
	t_begin(c, P9_TREADLINK, 1);
	t_put(c, 3, 4);
	assert_int_equal(t_send(c), P9_RREADLINK);
	assert_int_equal(t_get(c, 2), strlen(((struct fixture *)*state)->top));
	/* Creating under a symlink fid fails: it is not a directory. */
	assert_int_equal(t_lcreate(c, 3, "x", P9_DOTL_RDWR, 0644, 0), -ENOTDIR);
	/* The inside file reads fine. */
	assert_int_equal(t_walk(c, 1, 4, (const char *[]){ "sub", "secret", NULL }), 2);
	assert_int_equal(t_lopen(c, 4, 0), 0);
	assert_int_equal(t_read(c, 4, 0, buf, sizeof(buf)), 6);
	assert_memory_equal(buf, "inside", 6);
}

struct swapper {
	char a[160], b[160];
	volatile bool stop;
	unsigned long swaps;
};

static void *swap_loop(void *arg)
{
	struct swapper *sw = arg;

	while (!sw->stop) {
		if (renameat2(AT_FDCWD, sw->a, AT_FDCWD, sw->b, RENAME_EXCHANGE) == 0)
			sw->swaps++;
	}
	return NULL;
}

/* A directory and a symlink pointing out swap places as fast as the host
 * can while the guest walks through the name: every read gets the inside
 * file or fails, never the secret outside. */
static void racing_symlink_swap(void **state)
{
	struct fixture *fx = *state;
	struct tclient *c = fx->c;
	struct swapper sw = { 0 };
	const char *path[] = { "d", "secret", NULL };
	pthread_t th;
	char buf[64], p[192];
	int inside = 0;

	snprintf(sw.a, sizeof(sw.a), "%s/d", fx->share);
	snprintf(sw.b, sizeof(sw.b), "%s/l", fx->share);
	mkdir(sw.a, 0755);
	snprintf(p, sizeof(p), "%s/d/secret", fx->share);
	write_file(p, "inside");
	snprintf(p, sizeof(p), "%s/outside", fx->top);
	assert_int_equal(symlink(p, sw.b), 0);
	assert_int_equal(pthread_create(&th, NULL, swap_loop, &sw), 0);
	for (int i = 0; i < 20000; i++) {
		int n = t_walk(c, 1, 9, path), got;

		if (n != 2)
			continue;
		if (t_lopen(c, 9, 0) == 0) {
			got = t_read(c, 9, 0, buf, sizeof(buf));
			assert_false(got >= 10 && memcmp(buf, "HOSTSECRET", 10) == 0);
			inside += got == 6;
		}
		t_clunk(c, 9);
	}
	sw.stop = true;
	pthread_join(th, NULL);
	assert_true(sw.swaps > 0);
	assert_true(inside > 0);
}

static void hard_links(void **state)
{
	struct fixture *fx = *state;
	struct tclient *c = fx->c;
	struct tattr a;
	char p[192];
	struct stat st;

	assert_int_equal(t_walk1(c, 1, 2, "file"), 0);
	t_begin(c, P9_TLINK, 1);
	t_put(c, 1, 4);
	t_put(c, 2, 4);
	t_str(c, "file2");
	assert_int_equal(t_send(c), P9_RLINK);
	assert_int_equal(t_getattr(c, 2, &a), 0);
	assert_int_equal(a.nlink, 2);
	snprintf(p, sizeof(p), "%s/file2", fx->share);
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_nlink, 2);
	/* No hard link to a directory, no name outside the directory. */
	t_begin(c, P9_TLINK, 1);
	t_put(c, 1, 4);
	t_put(c, 1, 4);
	t_str(c, "rootlink");
	assert_int_equal(t_send(c), P9_RLERROR);
	assert_int_equal(t_err(c), EPERM);
	t_begin(c, P9_TLINK, 1);
	t_put(c, 1, 4);
	t_put(c, 2, 4);
	t_str(c, "../escaped");
	assert_int_equal(t_send(c), P9_RLERROR);
}

static void read_only_share_refuses_writes(void **state)
{
	struct tclient *c = ((struct fixture *)*state)->c;
	char buf[16];

	assert_int_equal(t_walk1(c, 1, 2, NULL), 0);
	assert_int_equal(t_lcreate(c, 2, "new", P9_DOTL_RDWR, 0644, 0), -EROFS);
	assert_int_equal(t_walk1(c, 1, 3, "file"), 0);
	assert_int_equal(t_lopen(c, 3, P9_DOTL_RDWR), -EROFS);
	assert_int_equal(t_lopen(c, 3, P9_DOTL_RDONLY | P9_DOTL_TRUNC), -EROFS);
	assert_int_equal(t_lopen(c, 3, P9_DOTL_RDONLY), 0);
	assert_int_equal(t_read(c, 3, 0, buf, sizeof(buf)), 5);
	assert_int_equal(t_write(c, 3, 0, "x", 1), -EROFS);
	t_begin(c, P9_TSETATTR, 1);
	t_put(c, 3, 4);
	t_put(c, P9_SETATTR_SIZE, 4);
	for (int i = 0; i < 3; i++)
		t_put(c, 0, 4);
	for (int i = 0; i < 5; i++)
		t_put(c, 0, 8);
	assert_int_equal(t_send(c), P9_RLERROR);
	assert_int_equal(t_err(c), EROFS);
	t_begin(c, P9_TUNLINKAT, 1);
	t_put(c, 1, 4);
	t_str(c, "file");
	t_put(c, 0, 4);
	assert_int_equal(t_send(c), P9_RLERROR);
	assert_int_equal(t_err(c), EROFS);
	t_begin(c, P9_TXATTRCREATE, 1);
	t_put(c, 3, 4);
	t_str(c, "user.x");
	t_put(c, 1, 8);
	t_put(c, 0, 4);
	assert_int_equal(t_send(c), P9_RLERROR);
	assert_int_equal(t_err(c), EROFS);
}

static int set_xattr(struct tclient *c, uint32_t fid, const char *name, const char *value)
{
	t_begin(c, P9_TXATTRCREATE, 1);
	t_put(c, fid, 4);
	t_str(c, name);
	t_put(c, strlen(value), 8);
	t_put(c, 0, 4);
	if (t_send(c) != P9_RXATTRCREATE)
		return -t_err(c);
	if (t_write(c, fid, 0, value, (uint32_t)strlen(value)) != (int)strlen(value))
		return -EIO;
	return t_clunk(c, fid);
}

/* Returns the value length, -errno; the value is in buf. */
static int get_xattr(struct tclient *c, uint32_t fid, const char *name, char *buf, uint32_t len)
{
	int size;

	t_begin(c, P9_TXATTRWALK, 1);
	t_put(c, fid, 4);
	t_put(c, 50, 4);
	t_str(c, name);
	if (t_send(c) != P9_RXATTRWALK)
		return -t_err(c);
	size = (int)t_get(c, 8);
	assert_int_equal(t_read(c, 50, 0, buf, len), size);
	assert_int_equal(t_clunk(c, 50), 0);
	return size;
}

static void xattrs_round_trip(void **state)
{
	struct fixture *fx = *state;
	struct tclient *c = fx->c;
	char buf[256], p[192];

	assert_int_equal(t_walk1(c, 1, 2, "file"), 0);
	assert_int_equal(set_xattr(c, 2, "user.color", "blue"), 0);
	snprintf(p, sizeof(p), "%s/file", fx->share);
	assert_int_equal(getxattr(p, "user.color", buf, sizeof(buf)), 4);
	assert_int_equal(t_walk1(c, 1, 2, "file"), 0);
	assert_int_equal(get_xattr(c, 2, "user.color", buf, sizeof(buf)), 4);
	assert_memory_equal(buf, "blue", 4);
	assert_int_equal(get_xattr(c, 2, "", buf, sizeof(buf)), 11);
	assert_string_equal(buf, "user.color");
	assert_int_equal(get_xattr(c, 2, "user.none", buf, sizeof(buf)), -ENODATA);
	/* A value shorter than announced is refused at clunk. */
	t_begin(c, P9_TXATTRCREATE, 1);
	t_put(c, 2, 4);
	t_str(c, "user.short");
	t_put(c, 10, 8);
	t_put(c, 0, 4);
	assert_int_equal(t_send(c), P9_RXATTRCREATE);
	assert_int_equal(t_write(c, 2, 0, "abc", 3), 3);
	assert_int_equal(t_write(c, 2, 8, "abcd", 4), -ENOSPC);
	assert_int_equal(t_clunk(c, 2), -EINVAL);
}

static void mapped_ownership(void **state)
{
	struct fixture *fx = *state;
	struct tclient *c = fx->c;
	struct tattr a;
	struct stat st;
	char p[192], buf[64];
	uint32_t v;

	snprintf(p, sizeof(p), "%s/file", fx->share);
	if (setxattr(p, "user.probe", "1", 1, 0)) {
		skip(); /* no user xattrs on this file system */
		return;
	}
	/* A device node: a private regular file that says it is one. */
	t_begin(c, P9_TMKNOD, 1);
	t_put(c, 1, 4);
	t_str(c, "null");
	t_put(c, S_IFCHR | 0666, 4);
	t_put(c, 1, 4);
	t_put(c, 3, 4);
	t_put(c, 0, 4);
	assert_int_equal(t_send(c), P9_RMKNOD);
	snprintf(p, sizeof(p), "%s/null", fx->share);
	assert_int_equal(lstat(p, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(getxattr(p, "user.virtfs.mode", &v, 4), 4);
	assert_int_equal(v, S_IFCHR | 0666);
	assert_int_equal(t_walk1(c, 1, 2, "null"), 0);
	assert_int_equal(t_getattr(c, 2, &a), 0);
	assert_int_equal(a.mode, S_IFCHR | 0666);
	assert_int_equal(a.rdev, makedev(1, 3));
	/* chown to a uid the host user need not have: only xattrs change. */
	t_begin(c, P9_TSETATTR, 1);
	t_put(c, 2, 4);
	t_put(c, P9_SETATTR_UID | P9_SETATTR_GID | P9_SETATTR_MODE, 4);
	t_put(c, 0640, 4);
	t_put(c, 4242, 4);
	t_put(c, 4343, 4);
	for (int i = 0; i < 5; i++)
		t_put(c, 0, 8);
	assert_int_equal(t_send(c), P9_RSETATTR);
	assert_int_equal(t_getattr(c, 2, &a), 0);
	assert_int_equal(a.uid, 4242);
	assert_int_equal(a.gid, 4343);
	assert_int_equal(a.mode, S_IFCHR | 0640);
	assert_int_equal(lstat(p, &st), 0);
	assert_int_equal(st.st_uid, getuid());
	/* A symlink: a regular file holding the target. */
	t_begin(c, P9_TSYMLINK, 1);
	t_put(c, 1, 4);
	t_str(c, "link");
	t_str(c, "/etc/passwd");
	t_put(c, 0, 4);
	assert_int_equal(t_send(c), P9_RSYMLINK);
	snprintf(p, sizeof(p), "%s/link", fx->share);
	assert_int_equal(lstat(p, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(t_walk1(c, 1, 3, "link"), 0);
	assert_int_equal(t_getattr(c, 3, &a), 0);
	assert_true(S_ISLNK(a.mode));
	t_begin(c, P9_TREADLINK, 1);
	t_put(c, 3, 4);
	assert_int_equal(t_send(c), P9_RREADLINK);
	assert_int_equal(t_get(c, 2), 11);
	assert_memory_equal(c->reply + c->rpos, "/etc/passwd", 11);
	/* The server's own xattrs are neither listed nor settable. */
	assert_int_equal(get_xattr(c, 2, "user.virtfs.uid", buf, sizeof(buf)), -ENODATA);
	assert_int_equal(get_xattr(c, 2, "", buf, sizeof(buf)), 0);
	assert_int_equal(set_xattr(c, 2, "user.virtfs.uid", "0000"), -EACCES);
}

/* Returns the names a Treaddir of an open directory fid lists, joined. */
static int list_dir(struct tclient *c, uint32_t fid, char *out, size_t len, int *count)
{
	uint64_t offset = 0;

	out[0] = '\0';
	*count = 0;
	for (;;) {
		uint32_t n, pos;

		t_begin(c, P9_TREADDIR, 1);
		t_put(c, fid, 4);
		t_put(c, offset, 8);
		t_put(c, 200, 4); /* small: several calls, offsets must resume */
		if (t_send(c) != P9_RREADDIR)
			return -t_err(c);
		n = (uint32_t)t_get(c, 4);
		if (n == 0)
			return 0;
		for (pos = 0; pos < n;) {
			uint16_t nl;

			c->rpos = 11 + pos + 13;
			offset = t_get(c, 8);
			t_get(c, 1);
			nl = (uint16_t)t_get(c, 2);
			if (strlen(out) + nl + 2 < len) {
				strncat(out, (char *)c->reply + c->rpos, nl);
				strcat(out, " ");
			}
			(*count)++;
			pos += 13 + 8 + 1 + 2 + nl;
		}
	}
}

/* TLOCK or TGETLOCK of the whole file on FID; returns RLOCK's status or
 * RGETLOCK's lock type. */
static int t_lock(struct tclient *c, uint8_t msg, uint32_t fid, uint8_t type)
{
	t_begin(c, msg, 1);
	t_put(c, fid, 4);
	t_put(c, type, 1);
	if (msg == P9_TLOCK)
		t_put(c, 0, 4); /* flags */
	t_put(c, 0, 8);         /* start */
	t_put(c, 0, 8);         /* length: to the end */
	t_put(c, 42, 4);        /* proc_id */
	t_str(c, "guest");
	assert_int_equal(t_send(c), msg + 1);
	return (int)t_get(c, 1);
}

/* The lock another open file of PATH would run into (F_UNLCK: none). */
static int host_lock_type(const char *path)
{
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
	int fd = open(path, O_RDWR);

	assert_true(fd >= 0);
	assert_int_equal(fcntl(fd, F_OFD_GETLK, &fl), 0);
	close(fd);
	return fl.l_type;
}

static void directory_operations(void **state)
{
	struct fixture *fx = *state;
	struct tclient *c = fx->c;
	char names[4096], p[192], name[16];
	struct tattr a;
	struct stat st;
	int count;

	/* mkdir, then many files in it, listed in small Treaddir pieces */
	t_begin(c, P9_TMKDIR, 1);
	t_put(c, 1, 4);
	t_str(c, "small");
	t_put(c, 0750, 4);
	t_put(c, 0, 4);
	assert_int_equal(t_send(c), P9_RMKDIR);
	assert_int_equal(t_walk1(c, 1, 2, "small"), 0);
	for (int i = 0; i < 50; i++) {
		snprintf(name, sizeof(name), "f%d", i);
		assert_int_equal(t_walk1(c, 2, 3, NULL), 0);
		assert_int_equal(t_lcreate(c, 3, name, P9_DOTL_WRONLY, 0644, 0), 0);
		assert_int_equal(t_write(c, 3, 0, name, (uint32_t)strlen(name)), (int)strlen(name));
		assert_int_equal(t_clunk(c, 3), 0);
	}
	assert_int_equal(t_walk1(c, 2, 4, NULL), 0);
	assert_int_equal(t_lopen(c, 4, P9_DOTL_RDONLY | P9_DOTL_DIRECTORY), 0);
	assert_int_equal(list_dir(c, 4, names, sizeof(names), &count), 0);
	assert_int_equal(count, 52); /* with . and .. */
	assert_non_null(strstr(names, "f49 "));
	snprintf(p, sizeof(p), "%s/small", fx->share);
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0750);
	/* renameat across directories, unlinkat, rmdir */
	t_begin(c, P9_TRENAMEAT, 1);
	t_put(c, 2, 4);
	t_str(c, "f1");
	t_put(c, 1, 4);
	t_str(c, "moved");
	assert_int_equal(t_send(c), P9_RRENAMEAT);
	snprintf(p, sizeof(p), "%s/moved", fx->share);
	assert_int_equal(stat(p, &st), 0);
	t_begin(c, P9_TUNLINKAT, 1);
	t_put(c, 1, 4);
	t_str(c, "small");
	t_put(c, P9_AT_REMOVEDIR, 4);
	assert_int_equal(t_send(c), P9_RLERROR);
	assert_int_equal(t_err(c), ENOTEMPTY);
	/* setattr: truncate, chmod, times; getattr sees them */
	assert_int_equal(t_walk1(c, 1, 5, "moved"), 0);
	t_begin(c, P9_TSETATTR, 1);
	t_put(c, 5, 4);
	t_put(c, P9_SETATTR_SIZE | P9_SETATTR_MODE | P9_SETATTR_MTIME | P9_SETATTR_MTIME_SET, 4);
	t_put(c, 0604, 4);
	t_put(c, 0, 4);
	t_put(c, 0, 4);
	t_put(c, 12345, 8);
	t_put(c, 0, 8);
	t_put(c, 0, 8);
	t_put(c, 1000000, 8);
	t_put(c, 5, 8);
	assert_int_equal(t_send(c), P9_RSETATTR);
	assert_int_equal(t_getattr(c, 5, &a), 0);
	assert_int_equal(a.size, 12345);
	assert_int_equal(a.mode, S_IFREG | 0604);
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mtim.tv_sec, 1000000);
	assert_int_equal(st.st_mtim.tv_nsec, 5);
	/* statfs and fsync */
	t_begin(c, P9_TSTATFS, 1);
	t_put(c, 1, 4);
	assert_int_equal(t_send(c), P9_RSTATFS);
	assert_int_equal(t_lopen(c, 5, P9_DOTL_RDWR), 0);
	t_begin(c, P9_TFSYNC, 1);
	t_put(c, 5, 4);
	t_put(c, 0, 4);
	assert_int_equal(t_send(c), P9_RFSYNC);
	/* locks: ours succeeds, a conflicting host lock is reported */
	assert_int_equal(t_lock(c, P9_TLOCK, 5, P9_LOCK_TYPE_WRLCK), P9_LOCK_SUCCESS);
	assert_int_equal(host_lock_type(p), F_WRLCK); /* the guest's lock */
	/* Linux's v9fs asks GETLOCK with type UNLCK ("any lock?"): from
	 * another open file the guest's write lock shows */
	assert_int_equal(t_walk1(c, 1, 7, "moved"), 0);
	assert_int_equal(t_lopen(c, 7, P9_DOTL_RDWR), 0);
	assert_int_equal(t_lock(c, P9_TGETLOCK, 7, P9_LOCK_TYPE_UNLCK), P9_LOCK_TYPE_WRLCK);
	/* LOCK with UNLCK releases the guest's lock: the host can take it */
	assert_int_equal(t_lock(c, P9_TLOCK, 5, P9_LOCK_TYPE_UNLCK), P9_LOCK_SUCCESS);
	assert_int_equal(host_lock_type(p), F_UNLCK);
	/* a FIFO: made, never opened */
	t_begin(c, P9_TMKNOD, 1);
	t_put(c, 1, 4);
	t_str(c, "fifo");
	t_put(c, S_IFIFO | 0644, 4);
	t_put(c, 0, 4);
	t_put(c, 0, 4);
	t_put(c, 0, 4);
	assert_int_equal(t_send(c), P9_RMKNOD);
	assert_int_equal(t_walk1(c, 1, 6, "fifo"), 0);
	assert_int_equal(t_lopen(c, 6, P9_DOTL_RDONLY), -ENXIO);
	snprintf(p, sizeof(p), "%s/fifo", fx->share);
	assert_int_equal(lstat(p, &st), 0);
	assert_true(S_ISFIFO(st.st_mode));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(dotdot_stays_in_the_share, setup, teardown),
		cmocka_unit_test_setup_teardown(bad_names_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(symlinks_are_not_followed, setup, teardown),
		cmocka_unit_test_setup_teardown(racing_symlink_swap, setup, teardown),
		cmocka_unit_test_setup_teardown(hard_links, setup, teardown),
		cmocka_unit_test_setup_teardown(directory_operations, setup, teardown),
		cmocka_unit_test_setup_teardown(read_only_share_refuses_writes, setup_ro, teardown),
		cmocka_unit_test_setup_teardown(xattrs_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(mapped_ownership, setup_mapped, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
