/* Attributes and extended attributes: getattr, setattr, xattrwalk,
 * xattrcreate (and the reads/writes/clunk of the xattr fids they make).
 *
 * An xattr value travels through a fid: Txattrwalk reads the value (or the
 * name list) into a buffer the guest then Treads; Txattrcreate opens an
 * empty buffer the guest Twrites, set on the file at Tclunk.  Each buffer
 * is at most XATTR_SIZE_MAX and all of them together at most
 * P9_XATTR_BUDGET, so fids cannot pin unbounded memory. */
#include <errno.h>
#include <fcntl.h>
#include <linux/limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "9p/internal.h"

int p9_op_getattr(struct p9_req *r)
{
	uint32_t fid = p9_get32(&r->in);
	struct p9_fid *f;
	struct p9_qid qid;
	struct stat st;
	int ret;

	p9_get64(&r->in); /* request_mask: the basic set costs one stat anyway */
	if (r->in.err)
		return r->in.err;
	f = p9_req_fid(r, fid);
	if (!f)
		return -EBADF;
	ret = f->fd >= 0 ? p9_stat(r->s, f->fd, &st) : -EBADF;
	p9_fid_put(r->s, f);
	if (ret)
		return ret;
	p9_qid_of(&st, &qid);
	p9_put64(&r->out, P9_GETATTR_BASIC);
	p9_put_qid(&r->out, &qid);
	p9_put32(&r->out, st.st_mode);
	p9_put32(&r->out, st.st_uid);
	p9_put32(&r->out, st.st_gid);
	p9_put64(&r->out, st.st_nlink);
	p9_put64(&r->out, st.st_rdev);
	p9_put64(&r->out, (uint64_t)st.st_size);
	p9_put64(&r->out, (uint64_t)st.st_blksize);
	p9_put64(&r->out, (uint64_t)st.st_blocks);
	p9_put64(&r->out, (uint64_t)st.st_atim.tv_sec);
	p9_put64(&r->out, (uint64_t)st.st_atim.tv_nsec);
	p9_put64(&r->out, (uint64_t)st.st_mtim.tv_sec);
	p9_put64(&r->out, (uint64_t)st.st_mtim.tv_nsec);
	p9_put64(&r->out, (uint64_t)st.st_ctim.tv_sec);
	p9_put64(&r->out, (uint64_t)st.st_ctim.tv_nsec);
	for (int i = 0; i < 4; i++)
		p9_put64(&r->out, 0); /* btime, gen, data_version: not reported */
	return 0;
}

static int truncate_fid(struct p9_server *s, struct p9_fid *f, uint64_t size)
{
	int fd = __atomic_load_n(&f->open_fd, __ATOMIC_ACQUIRE), tmp = -1, ret = 0;

	if (size > INT64_MAX)
		return -EINVAL;
	if (S_ISDIR(f->type))
		return -EISDIR;
	if (!S_ISREG(f->type))
		return -EINVAL;
	if (fd < 0 || (f->open_flags & O_ACCMODE) == O_RDONLY) {
		ret = p9_reopen(s, f->fd, O_WRONLY | O_NONBLOCK | O_NOCTTY, &tmp);
		if (ret)
			return ret;
		fd = tmp;
	}
	if (ftruncate(fd, (off_t)size))
		ret = -errno;
	if (tmp >= 0)
		close(tmp);
	return ret;
}

static void time_of(uint32_t valid, uint32_t now_bit, uint32_t set_bit, uint64_t sec,
		    uint64_t nsec, struct timespec *ts)
{
	if (!(valid & now_bit)) {
		ts->tv_nsec = UTIME_OMIT;
	} else if (valid & set_bit) {
		ts->tv_sec = (time_t)sec;
		ts->tv_nsec = nsec < 1000000000 ? (long)nsec : 999999999;
	} else {
		ts->tv_nsec = UTIME_NOW;
	}
}

int p9_op_setattr(struct p9_req *r)
{
	uint32_t fid = p9_get32(&r->in), valid = p9_get32(&r->in);
	uint32_t mode = p9_get32(&r->in), uid = p9_get32(&r->in), gid = p9_get32(&r->in);
	uint64_t size = p9_get64(&r->in);
	uint64_t asec = p9_get64(&r->in), ansec = p9_get64(&r->in);
	uint64_t msec = p9_get64(&r->in), mnsec = p9_get64(&r->in);
	struct timespec ts[2];
	struct p9_fid *f;
	int ret = 0;

	if (r->in.err)
		return r->in.err;
	if (p9_ro(r))
		return -EROFS;
	f = p9_req_fid(r, fid);
	if (!f)
		return -EBADF;
	if (f->kind != P9_FID_FILE) {
		p9_fid_put(r->s, f);
		return -EINVAL;
	}
	/* Owner first: a chown clears set-id bits, and a mode sent along
	 * with it is the one the guest wants in the end. */
	if (valid & (P9_SETATTR_UID | P9_SETATTR_GID))
		ret = p9_chown(r->s, f->fd, f->type, valid & P9_SETATTR_UID ? uid : (uint32_t)-1,
			       valid & P9_SETATTR_GID ? gid : (uint32_t)-1);
	if (!ret && (valid & P9_SETATTR_MODE))
		ret = p9_chmod(r->s, f->fd, f->type, mode);
	if (!ret && (valid & P9_SETATTR_SIZE))
		ret = truncate_fid(r->s, f, size);
	if (!ret && (valid & (P9_SETATTR_ATIME | P9_SETATTR_MTIME))) {
		time_of(valid, P9_SETATTR_ATIME, P9_SETATTR_ATIME_SET, asec, ansec, &ts[0]);
		time_of(valid, P9_SETATTR_MTIME, P9_SETATTR_MTIME_SET, msec, mnsec, &ts[1]);
		if (utimensat(f->fd, "", ts, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW))
			ret = -errno;
	}
	p9_fid_put(r->s, f);
	return ret;
}

/* ---- xattrs ---- */

static int budget_take(struct p9_server *s, size_t n)
{
	uint64_t now = __atomic_add_fetch(&s->xattr_bytes, n, __ATOMIC_RELAXED);

	if (now > P9_XATTR_BUDGET) {
		__atomic_sub_fetch(&s->xattr_bytes, n, __ATOMIC_RELAXED);
		return -ENOMEM;
	}
	return 0;
}

void p9_xattr_release(struct p9_server *s, struct p9_fid *f)
{
	if (f->xsize)
		__atomic_sub_fetch(&s->xattr_bytes, f->xsize, __ATOMIC_RELAXED);
	free(f->xbuf);
	free(f->xname);
	f->xbuf = NULL;
	f->xname = NULL;
	f->xsize = f->xlen = 0;
}

static bool xattr_capable(mode_t type)
{
	return S_ISREG(type) || S_ISDIR(type);
}

/* Drops the names the server keeps for itself from a listxattr result. */
static size_t filter_list(struct p9_server *s, char *list, size_t len)
{
	size_t in = 0, out = 0;

	while (in < len) {
		size_t n = strnlen(list + in, len - in) + 1;

		if (!p9_xattr_reserved(s, list + in)) {
			memmove(list + out, list + in, n);
			out += n;
		}
		in += n;
	}
	return out;
}

/* The value of name ("" for the list) into a fresh buffer. */
static int xattr_fetch(struct p9_server *s, int fd, mode_t type, const char *name,
		       uint8_t **buf, size_t *len)
{
	char path[32];
	ssize_t n;

	*buf = NULL;
	*len = 0;
	if (!xattr_capable(type))
		return name[0] ? -ENODATA : 0; /* links and nodes: none */
	if (name[0] && p9_xattr_reserved(s, name))
		return -ENODATA;
	p9_proc_path(fd, path);
	n = name[0] ? getxattr(path, name, NULL, 0) : listxattr(path, NULL, 0);
	if (n < 0)
		return -errno;
	if (n > P9_XATTR_MAX)
		return -E2BIG;
	if (n == 0)
		return 0;
	*buf = malloc((size_t)n);
	if (!*buf)
		return -ENOMEM;
	n = name[0] ? getxattr(path, name, *buf, (size_t)n) : listxattr(path, (char *)*buf, (size_t)n);
	if (n < 0) {
		int err = errno == ERANGE ? -EAGAIN : -errno; /* it grew meanwhile */

		free(*buf);
		*buf = NULL;
		return err;
	}
	*len = name[0] ? (size_t)n : filter_list(s, (char *)*buf, (size_t)n);
	return 0;
}

int p9_op_xattrwalk(struct p9_req *r)
{
	uint32_t fid = p9_get32(&r->in), newfid = p9_get32(&r->in);
	const char *name = p9_get_str(&r->in, XATTR_NAME_MAX);
	struct p9_fid *f, *nf = NULL;
	uint8_t *buf = NULL;
	size_t len = 0;
	int ret;

	if (r->in.err)
		return r->in.err;
	f = p9_req_fid(r, fid);
	if (!f)
		return -EBADF;
	ret = f->kind == P9_FID_FILE ? xattr_fetch(r->s, f->fd, f->type, name, &buf, &len)
				      : -EINVAL;
	if (!ret)
		ret = budget_take(r->s, len);
	if (ret) {
		free(buf);
		goto out_fid;
	}
	nf = p9_fid_new(newfid, -1, f->type, f->uid);
	if (!nf) {
		__atomic_sub_fetch(&r->s->xattr_bytes, len, __ATOMIC_RELAXED);
		free(buf);
		ret = -ENOMEM;
		goto out_fid;
	}
	nf->kind = P9_FID_XATTR_READ;
	nf->xbuf = buf;
	nf->xsize = nf->xlen = len;
	ret = p9_fid_insert(&r->s->fids, nf, newfid == fid, r->s);
	if (ret) {
		p9_fid_put(r->s, nf);
		goto out_fid;
	}
	p9_put64(&r->out, len);
out_fid:
	p9_fid_put(r->s, f);
	return ret;
}

int p9_op_xattrcreate(struct p9_req *r)
{
	uint32_t fid = p9_get32(&r->in);
	const char *name = p9_get_str(&r->in, XATTR_NAME_MAX);
	uint64_t size = p9_get64(&r->in);
	uint32_t flags = p9_get32(&r->in);
	struct p9_fid *f, *nf;
	int fd, ret;

	if (r->in.err)
		return r->in.err;
	if (p9_ro(r))
		return -EROFS;
	if (!name[0] || (flags & ~(P9_XATTR_CREATE | P9_XATTR_REPLACE)))
		return -EINVAL;
	if (p9_xattr_reserved(r->s, name))
		return -EACCES;
	if (size > P9_XATTR_MAX)
		return -E2BIG;
	f = p9_req_fid(r, fid);
	if (!f)
		return -EBADF;
	ret = -EOPNOTSUPP;
	if (f->kind != P9_FID_FILE || !xattr_capable(f->type))
		goto out_fid;
	ret = budget_take(r->s, size);
	if (ret)
		goto out_fid;
	fd = fcntl(f->fd, F_DUPFD_CLOEXEC, 0);
	nf = fd >= 0 ? p9_fid_new(fid, fd, f->type, f->uid) : NULL;
	if (!nf) {
		ret = fd < 0 ? -errno : -ENOMEM;
		if (fd >= 0)
			close(fd);
		__atomic_sub_fetch(&r->s->xattr_bytes, size, __ATOMIC_RELAXED);
		goto out_fid;
	}
	/* From here the fid's buffer owns the budget (released at free). */
	nf->kind = P9_FID_XATTR_WRITE;
	nf->xsize = size;
	nf->xflags = (flags & P9_XATTR_CREATE ? XATTR_CREATE : 0) |
		     (flags & P9_XATTR_REPLACE ? XATTR_REPLACE : 0);
	nf->xname = strdup(name);
	nf->xbuf = size ? calloc(1, size) : NULL;
	if (!nf->xname || (size && !nf->xbuf)) {
		p9_fid_put(r->s, nf);
		ret = -ENOMEM;
		goto out_fid;
	}
	ret = p9_fid_insert(&r->s->fids, nf, true, r->s);
	if (ret)
		p9_fid_put(r->s, nf);
out_fid:
	p9_fid_put(r->s, f);
	return ret;
}

int p9_xattr_read(struct p9_req *r, struct p9_fid *f, uint64_t off, uint32_t count)
{
	size_t n;

	if (p9_out_room(&r->out) < 4)
		return -EMSGSIZE;
	if (off >= f->xlen) {
		p9_put32(&r->out, 0);
		return 0;
	}
	n = f->xlen - off;
	if (n > count)
		n = count;
	if (n > p9_out_room(&r->out) - 4)
		n = p9_out_room(&r->out) - 4;
	p9_put32(&r->out, (uint32_t)n);
	p9_put_bytes(&r->out, f->xbuf + off, n);
	return 0;
}

int p9_xattr_write(struct p9_req *r, struct p9_fid *f, uint64_t off, uint32_t count)
{
	int ret = 0;

	pthread_mutex_lock(&f->lock);
	if (off > f->xsize || count > f->xsize - off) {
		ret = -ENOSPC;
	} else {
		iov_to_buf(r->m->out, r->m->out_num, P9_WRITE_HDR, f->xbuf + off, count);
		if (off + count > f->xlen)
			f->xlen = off + count;
		p9_put32(&r->out, count);
	}
	pthread_mutex_unlock(&f->lock);
	return ret;
}

int p9_xattr_commit(struct p9_server *s, struct p9_fid *f)
{
	char path[32];

	if (f->xlen != f->xsize)
		return -EINVAL; /* the guest wrote less than it announced */
	p9_proc_path(f->fd, path);
	/* Linux removes an xattr as a zero-length replace. */
	if (f->xsize == 0 && (f->xflags & XATTR_REPLACE))
		return removexattr(path, f->xname) ? -errno : 0;
	return setxattr(path, f->xname, f->xbuf ? (void *)f->xbuf : "", f->xsize, f->xflags) ? -errno
											    : 0;
}
