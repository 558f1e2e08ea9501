/* Directory changes: mkdir, mknod, symlink, readlink, link, renameat,
 * unlinkat.  Each acts on (directory fid, one checked name) with the *at()
 * calls, so nothing escapes the directory the fid holds.  A new inode gets
 * the guest's owner and mode (passthrough: for real; mapped: in xattrs,
 * with device nodes and symlinks made regular files); when that fails the
 * inode is removed again, so the guest never sees a half-made file. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "9p/internal.h"

/* The directory fid of a creating op and the name, both checked. */
static int dir_fid(struct p9_req *r, uint32_t id, const char *name, struct p9_fid **out)
{
	struct p9_fid *f;
	int ret;

	if (r->in.err)
		return r->in.err;
	if (p9_ro(r))
		return -EROFS;
	ret = p9_check_name(name);
	if (ret)
		return ret;
	f = p9_req_fid(r, id);
	if (!f)
		return -EBADF;
	if (f->kind != P9_FID_FILE || !S_ISDIR(f->type)) {
		p9_fid_put(r->s, f);
		return -ENOTDIR;
	}
	*out = f;
	return 0;
}

/* After creating name in dir: record the guest's owner and reply its qid;
 * on failure remove it.  fd is the new inode (O_PATH or open) or -1. */
static int finish_new(struct p9_req *r, struct p9_fid *dir, const char *name, int fd,
		      uint32_t gid, mode_t mode, dev_t rdev)
{
	struct p9_qid qid;
	struct stat st;
	int ret = 0;

	if (fd < 0)
		ret = p9_lookup(r->s, dir->fd, name, &fd);
	if (!ret)
		ret = p9_set_owner_new(r->s, fd, dir->uid, gid, mode, rdev);
	if (!ret)
		ret = p9_stat(r->s, fd, &st);
	if (fd >= 0)
		close(fd);
	if (ret) {
		unlinkat(dir->fd, name, S_ISDIR(mode) ? AT_REMOVEDIR : 0);
		return ret;
	}
	p9_qid_of(&st, &qid);
	p9_put_qid(&r->out, &qid);
	return 0;
}

int p9_op_mkdir(struct p9_req *r)
{
	uint32_t dfid = p9_get32(&r->in);
	const char *name = p9_get_str(&r->in, NAME_MAX);
	uint32_t mode = p9_get32(&r->in), gid = p9_get32(&r->in);
	struct p9_fid *d;
	int ret = dir_fid(r, dfid, name, &d);

	if (ret)
		return ret;
	if (mkdirat(d->fd, name, r->s->cfg.mapped ? 0700 : (mode & 07777)))
		ret = -errno;
	else
		ret = finish_new(r, d, name, -1, gid, S_IFDIR | (mode & 07777), 0);
	p9_fid_put(r->s, d);
	return ret;
}

/* Mapped mode: a guest's special file or symlink is a private regular file
 * (a symlink's target is its content). */
static int mapped_file(struct p9_req *r, struct p9_fid *d, const char *name, const char *content,
		       int *out)
{
	int fd = p9_openat_beneath(d->fd, name, O_CREAT | O_EXCL | O_WRONLY, 0600);
	size_t len = content ? strlen(content) : 0;

	if (fd < 0)
		return fd;
	if (len && write(fd, content, len) != (ssize_t)len) {
		int err = errno ? -errno : -EIO;

		close(fd);
		unlinkat(d->fd, name, 0);
		return err;
	}
	*out = fd;
	return 0;
}

int p9_op_mknod(struct p9_req *r)
{
	uint32_t dfid = p9_get32(&r->in);
	const char *name = p9_get_str(&r->in, NAME_MAX);
	uint32_t mode = p9_get32(&r->in), major = p9_get32(&r->in), minor = p9_get32(&r->in);
	uint32_t gid = p9_get32(&r->in);
	mode_t type = mode & S_IFMT;
	dev_t rdev = makedev(major, minor);
	struct p9_fid *d;
	int fd = -1, ret = dir_fid(r, dfid, name, &d);

	if (ret)
		return ret;
	if (type != S_IFREG && type != S_IFCHR && type != S_IFBLK && type != S_IFIFO &&
	    type != S_IFSOCK) {
		ret = -EINVAL;
	} else if (r->s->cfg.mapped) {
		ret = mapped_file(r, d, name, NULL, &fd);
	} else if (mknodat(d->fd, name, (mode & 07777) | type, rdev)) {
		ret = -errno;
	}
	if (!ret)
		ret = finish_new(r, d, name, fd, gid, type | (mode & 07777), rdev);
	p9_fid_put(r->s, d);
	return ret;
}

int p9_op_symlink(struct p9_req *r)
{
	uint32_t dfid = p9_get32(&r->in);
	const char *name = p9_get_str(&r->in, NAME_MAX);
	const char *target = p9_get_str(&r->in, PATH_MAX - 1);
	uint32_t gid = p9_get32(&r->in);
	struct p9_fid *d;
	int fd = -1, ret = dir_fid(r, dfid, name, &d);

	if (ret)
		return ret;
	/* The target is stored, never followed by us: any string will do. */
	if (!target[0])
		ret = -ENOENT;
	else if (r->s->cfg.mapped)
		ret = mapped_file(r, d, name, target, &fd);
	else if (symlinkat(target, d->fd, name))
		ret = -errno;
	if (!ret)
		ret = finish_new(r, d, name, fd, gid, S_IFLNK | 0777, 0);
	p9_fid_put(r->s, d);
	return ret;
}

int p9_op_readlink(struct p9_req *r)
{
	uint32_t fid = p9_get32(&r->in);
	char *buf = (char *)r->w->dirbuf;
	struct p9_fid *f;
	ssize_t n = -EINVAL;
	int fd;

	if (r->in.err)
		return r->in.err;
	f = p9_req_fid(r, fid);
	if (!f)
		return -EBADF;
	if (f->kind == P9_FID_FILE && S_ISLNK(f->type)) {
		n = readlinkat(f->fd, "", buf, PATH_MAX);
		if (n < 0)
			n = -errno;
	} else if (f->kind == P9_FID_FILE && S_ISLNK(p9_mapped_mode(r->s, f->fd, f->type))) {
		n = p9_reopen(r->s, f->fd, O_RDONLY | O_NONBLOCK | O_NOCTTY, &fd);
		if (!n) {
			n = pread(fd, buf, PATH_MAX, 0);
			if (n < 0)
				n = -errno;
			close(fd);
		}
	}
	p9_fid_put(r->s, f);
	if (n < 0)
		return (int)n;
	if (n >= PATH_MAX)
		return -ENAMETOOLONG;
	p9_put_str(&r->out, buf, (size_t)n);
	return 0;
}

int p9_op_link(struct p9_req *r)
{
	uint32_t dfid = p9_get32(&r->in), fid = p9_get32(&r->in);
	const char *name = p9_get_str(&r->in, NAME_MAX);
	struct p9_fid *d, *f;
	char proc_name[16];
	int ret = dir_fid(r, dfid, name, &d);

	if (ret)
		return ret;
	f = p9_req_fid(r, fid);
	if (!f) {
		ret = -EBADF;
	} else if (f->kind != P9_FID_FILE || S_ISDIR(f->type)) {
		ret = -EPERM;
	} else if (!r->s->is_root && S_ISLNK(f->type)) {
		ret = -EPERM; /* the /proc way below would follow the link */
	} else if (r->s->is_root) {
		/* The fid's own inode, which is in the share, gets a new name
		 * in a directory of the share: nothing here resolves a path. */
		if (linkat(f->fd, "", d->fd, name, AT_EMPTY_PATH))
			ret = -errno;
	} else {
		/* AT_EMPTY_PATH needs CAP_DAC_READ_SEARCH; the /proc name of our
		 * descriptor reaches the same inode. */
		snprintf(proc_name, sizeof(proc_name), "%d", f->fd);
		if (linkat(r->s->proc_fd, proc_name, d->fd, name, AT_SYMLINK_FOLLOW))
			ret = -errno;
	}
	p9_fid_put(r->s, f);
	p9_fid_put(r->s, d);
	return ret;
}

int p9_op_rename(struct p9_req *r)
{
	return -EOPNOTSUPP; /* see op_remove in server.c: Trenameat does it */
}

int p9_op_renameat(struct p9_req *r)
{
	uint32_t olddir = p9_get32(&r->in);
	const char *oldname = p9_get_str(&r->in, NAME_MAX);
	uint32_t newdir = p9_get32(&r->in);
	const char *newname = p9_get_str(&r->in, NAME_MAX);
	struct p9_fid *od, *nd;
	int ret = dir_fid(r, olddir, oldname, &od);

	if (ret)
		return ret;
	ret = dir_fid(r, newdir, newname, &nd);
	if (!ret) {
		if (renameat(od->fd, oldname, nd->fd, newname))
			ret = -errno;
		p9_fid_put(r->s, nd);
	}
	p9_fid_put(r->s, od);
	return ret;
}

int p9_op_unlinkat(struct p9_req *r)
{
	uint32_t dfid = p9_get32(&r->in);
	const char *name = p9_get_str(&r->in, NAME_MAX);
	uint32_t flags = p9_get32(&r->in);
	struct p9_fid *d;
	int ret = dir_fid(r, dfid, name, &d);

	if (ret)
		return ret;
	if (flags & ~P9_AT_REMOVEDIR)
		ret = -EINVAL;
	else if (unlinkat(d->fd, name, flags & P9_AT_REMOVEDIR ? AT_REMOVEDIR : 0))
		ret = -errno;
	p9_fid_put(r->s, d);
	return ret;
}
