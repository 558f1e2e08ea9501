#define LOG_TAG "9p"
/* Path resolution: the only code that turns a guest's name into a host
 * file, and why it cannot leave the share.
 *
 *  - A fid is an O_PATH descriptor; a guest never names a path from "/".
 *  - A name is one component: no '/', no NUL, not "." or "..", at most
 *    NAME_MAX bytes (p9_check_name).  ".." in a walk is handled apart.
 *  - Each component is opened relative to its directory's descriptor with
 *    openat2(O_PATH | O_NOFOLLOW, RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS |
 *    RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV): a symbolic link is opened as
 *    the link itself, never followed, so a link pointing out of the share,
 *    or swapped in while a walk is under way, yields a descriptor of the
 *    link, and the next component under it fails with ENOTDIR; /proc magic
 *    links and mount points inside the share are refused outright.
 *  - ".." stays at the root when the fid is the root; elsewhere the parent
 *    is opened and then proven to be the root or under it by walking up to
 *    the root (".." is rare: Linux resolves it in its own dcache).
 *  - Creating ops pass (directory fd, checked name) to the *at() calls, so
 *    they too act on one component beneath a directory of the share.
 *
 * Reopening an O_PATH descriptor for I/O goes through /proc/self/fd/N (as
 * virtiofsd does): that is our own descriptor, not a guest path, and it
 * names the very inode the fid holds. */
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "9p/internal.h"

#define RESOLVE_SHARE (RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | \
		       RESOLVE_NO_XDEV)
#define MAX_DEPTH 4096 /* bound of the walk up in p9_lookup_parent */

int p9_check_name(const char *name)
{
	size_t len = strlen(name);

	if (len == 0 || strchr(name, '/') || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return -EINVAL;
	if (len > NAME_MAX)
		return -ENAMETOOLONG;
	return 0;
}

int p9_openat_beneath(int dirfd, const char *name, int flags, mode_t mode)
{
	struct open_how how = {
		.flags = (uint64_t)(flags | O_NOFOLLOW | O_CLOEXEC),
		.mode = (flags & (O_CREAT | O_TMPFILE)) ? mode : 0,
		.resolve = RESOLVE_SHARE,
	};
	long fd;

	if (p9_check_name(name))
		return -EINVAL;
	do {
		fd = syscall(SYS_openat2, dirfd, name, &how, sizeof(how));
	} while (fd < 0 && errno == EINTR);
	return fd < 0 ? -errno : (int)fd;
}

int p9_lookup(struct p9_server *s, int dirfd, const char *name, int *out)
{
	int fd = p9_openat_beneath(dirfd, name, O_PATH, 0);

	(void)s;
	if (fd < 0)
		return fd == -EXDEV ? -EACCES : fd; /* a mount point or a jump out */
	*out = fd;
	return 0;
}

static bool same_inode(const struct stat *a, dev_t dev, ino_t ino)
{
	return a->st_dev == dev && a->st_ino == ino;
}

/* Whether fd is the root or a directory under it: walk up with "..". */
static int beneath_root(struct p9_server *s, int fd)
{
	int cur = fd, ret = -EACCES;
	struct stat st, up;

	for (int depth = 0; depth < MAX_DEPTH; depth++) {
		int parent;

		if (fstat(cur, &st)) {
			ret = -errno;
			break;
		}
		if (same_inode(&st, s->root_dev, s->root_ino)) {
			ret = 0;
			break;
		}
		parent = openat(cur, "..", O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (parent < 0) {
			ret = -errno;
			break;
		}
		if (cur != fd)
			close(cur);
		cur = parent;
		if (fstat(cur, &up) == 0 && same_inode(&up, st.st_dev, st.st_ino))
			break; /* reached "/" without meeting the root */
	}
	if (cur != fd)
		close(cur);
	return ret;
}

int p9_lookup_parent(struct p9_server *s, int fd, int *out)
{
	struct stat st;
	int parent, ret;

	if (fstat(fd, &st))
		return -errno;
	if (!S_ISDIR(st.st_mode))
		return -ENOTDIR;
	if (same_inode(&st, s->root_dev, s->root_ino)) {
		parent = fcntl(fd, F_DUPFD_CLOEXEC, 0); /* the root's ".." is itself */
		if (parent < 0)
			return -errno;
		*out = parent;
		return 0;
	}
	parent = openat(fd, "..", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (parent < 0)
		return -errno;
	ret = beneath_root(s, parent);
	if (ret) {
		close(parent);
		log_guest(&s->rl, "9p: '..' from a directory not under the share refused");
		return -EACCES;
	}
	*out = parent;
	return 0;
}

void p9_proc_path(int fd, char buf[32])
{
	snprintf(buf, 32, "/proc/self/fd/%d", fd);
}

int p9_reopen(struct p9_server *s, int fd, int flags, int *out)
{
	char name[16];
	int nfd;

	snprintf(name, sizeof(name), "%d", fd);
	do {
		nfd = openat(s->proc_fd, name, (flags & ~(O_CREAT | O_EXCL | O_TMPFILE)) | O_CLOEXEC);
	} while (nfd < 0 && errno == EINTR);
	if (nfd < 0)
		return -errno;
	*out = nfd;
	return 0;
}
