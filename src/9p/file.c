/* Open files: lopen, lcreate, read, write, readdir, fsync, locks, statfs.
 *
 * Reads and writes move data straight between the host file and the
 * guest's buffers: preadv into the reply buffers past the Rread header,
 * pwritev from the request buffers past the Twrite header.  Only regular
 * files and directories are ever opened on the host (a guest's device node
 * or FIFO is served by the guest's own kernel, never by us), so no open can
 * block on a FIFO or reach a host device. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/uio.h>
#include <unistd.h>

#include "9p/internal.h"

/* Tlopen/Tlcreate flags to host open flags.  O_DIRECT is dropped (the
 * guest's buffers need not be aligned), as are flags meaningless here. */
static int host_flags(uint32_t f)
{
	static const struct { uint32_t p9; int host; } map[] = {
		{ P9_DOTL_TRUNC, O_TRUNC }, { P9_DOTL_APPEND, O_APPEND },
		{ P9_DOTL_DSYNC, O_DSYNC }, { P9_DOTL_SYNC, O_SYNC },
		{ P9_DOTL_DIRECTORY, O_DIRECTORY }, { P9_DOTL_LARGEFILE, O_LARGEFILE },
		{ P9_DOTL_EXCL, O_EXCL },
	};
	int h;

	switch (f & 3) {
	case P9_DOTL_WRONLY: h = O_WRONLY; break;
	case P9_DOTL_RDWR: h = O_RDWR; break;
	case P9_DOTL_RDONLY: h = O_RDONLY; break;
	default: return -EINVAL;
	}
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (f & map[i].p9)
			h |= map[i].host;
	return h;
}

static bool writes(int flags)
{
	return (flags & O_ACCMODE) != O_RDONLY || (flags & (O_TRUNC | O_APPEND));
}

static void put_open_reply(struct p9_req *r, const struct stat *st)
{
	struct p9_qid qid;

	p9_qid_of(st, &qid);
	p9_put_qid(&r->out, &qid);
	p9_put32(&r->out, 0); /* iounit: msize - header */
}

int p9_op_lopen(struct p9_req *r)
{
	uint32_t fid = p9_get32(&r->in), flags = p9_get32(&r->in);
	struct p9_fid *f;
	struct stat st;
	int hf, fd, ret;

	if (r->in.err)
		return r->in.err;
	hf = host_flags(flags);
	if (hf < 0)
		return hf;
	hf &= ~O_EXCL;
	if (writes(hf) && p9_ro(r))
		return -EROFS;
	f = p9_req_fid(r, fid);
	if (!f)
		return -EBADF;
	ret = -EINVAL;
	if (f->kind != P9_FID_FILE)
		goto out_fid;
	if (S_ISDIR(f->type)) {
		ret = -EISDIR;
		if ((hf & O_ACCMODE) != O_RDONLY || (hf & (O_TRUNC | O_APPEND)))
			goto out_fid;
		hf = O_RDONLY | O_DIRECTORY;
	} else if (S_ISLNK(f->type)) {
		ret = -ELOOP;
		goto out_fid;
	} else if (!S_ISREG(f->type)) {
		ret = -ENXIO;
		goto out_fid;
	}
	pthread_mutex_lock(&f->lock);
	ret = -EBADF;
	if (f->open_fd < 0) {
		ret = p9_reopen(r->s, f->fd, hf | O_NOCTTY | O_NONBLOCK, &fd);
		if (!ret && fstat(fd, &st)) {
			ret = -errno;
			close(fd);
		}
		if (!ret) {
			f->open_flags = hf;
			__atomic_store_n(&f->open_fd, fd, __ATOMIC_RELEASE);
			put_open_reply(r, &st);
		}
	}
	pthread_mutex_unlock(&f->lock);
out_fid:
	p9_fid_put(r->s, f);
	return ret;
}

int p9_op_lcreate(struct p9_req *r)
{
	uint32_t fid = p9_get32(&r->in);
	const char *name = p9_get_str(&r->in, NAME_MAX);
	uint32_t flags = p9_get32(&r->in), mode = p9_get32(&r->in), gid = p9_get32(&r->in);
	struct p9_server *s = r->s;
	struct p9_fid *f, *nf;
	mode_t host_mode = s->cfg.mapped ? 0600 : (mode & 07777);
	struct stat st;
	int hf, fd, ret;

	if (r->in.err)
		return r->in.err;
	if (p9_ro(r))
		return -EROFS;
	ret = p9_check_name(name);
	if (ret)
		return ret;
	hf = host_flags(flags);
	if (hf < 0)
		return hf;
	hf &= ~O_DIRECTORY;
	f = p9_req_fid(r, fid);
	if (!f)
		return -EBADF;
	ret = -ENOTDIR;
	if (f->kind != P9_FID_FILE || !S_ISDIR(f->type))
		goto out_fid;
	/* Create exclusively so that only a file we made gets the guest's
	 * owner; an existing one is opened as it is, unless O_EXCL. */
	fd = p9_openat_beneath(f->fd, name, hf | O_CREAT | O_EXCL | O_NOCTTY, host_mode);
	if (fd >= 0) {
		ret = p9_set_owner_new(s, fd, f->uid, gid, S_IFREG | (mode & 07777), 0);
		if (ret) {
			close(fd);
			unlinkat(f->fd, name, 0);
			goto out_fid;
		}
	} else if (fd == -EEXIST && !(hf & O_EXCL)) {
		fd = p9_openat_beneath(f->fd, name, hf | O_NOCTTY | O_NONBLOCK, 0);
	}
	if (fd < 0) {
		ret = fd;
		goto out_fid;
	}
	ret = fstat(fd, &st) ? -errno : S_ISREG(st.st_mode) ? 0 : -EEXIST;
	if (ret) {
		close(fd);
		goto out_fid;
	}
	/* The fid now names the new, open file: a new fid object replaces
	 * the old one, which other requests may still hold. */
	nf = p9_fid_new(fid, fd, S_IFREG, f->uid);
	if (!nf) {
		close(fd);
		ret = -ENOMEM;
		goto out_fid;
	}
	nf->open_fd = fd;
	nf->open_flags = hf & ~(O_CREAT | O_EXCL);
	ret = p9_fid_insert(&s->fids, nf, true, s);
	if (ret) {
		p9_fid_put(s, nf);
		goto out_fid;
	}
	put_open_reply(r, &st);
out_fid:
	p9_fid_put(s, f);
	return ret;
}

static int open_fd_of(struct p9_fid *f)
{
	return __atomic_load_n(&f->open_fd, __ATOMIC_ACQUIRE);
}

int p9_op_read(struct p9_req *r)
{
	uint32_t fid = p9_get32(&r->in);
	uint64_t offset = p9_get64(&r->in);
	uint32_t count = p9_get32(&r->in);
	struct p9_fid *f;
	unsigned int niov;
	ssize_t n;
	int fd, ret;

	if (r->in.err)
		return r->in.err;
	f = p9_req_fid(r, fid);
	if (!f)
		return -EBADF;
	if (f->kind == P9_FID_XATTR_READ) {
		ret = p9_xattr_read(r, f, offset, count);
		goto out_fid;
	}
	fd = open_fd_of(f);
	ret = -EBADF;
	if (f->kind != P9_FID_FILE || fd < 0 || S_ISDIR(f->type) ||
	    (f->open_flags & O_ACCMODE) == O_WRONLY)
		goto out_fid;
	ret = -EINVAL;
	if (offset > INT64_MAX)
		goto out_fid;
	if (p9_out_room(&r->out) < 4)
		goto out_fid;
	if (count > p9_out_room(&r->out) - 4)
		count = (uint32_t)(p9_out_room(&r->out) - 4);
	/* The data goes straight into the guest's buffers after count[4]. */
	ret = p9_iov_slice(r->m->in, r->m->in_num, r->out.pos + 4, count, r->w->iov,
			   VIRTQ_MAX_SEGS, &niov);
	if (ret)
		goto out_fid;
	do {
		n = count ? preadv(fd, r->w->iov, (int)niov, (off_t)offset) : 0;
	} while (n < 0 && errno == EINTR);
	if (n < 0) {
		ret = -errno;
		goto out_fid;
	}
	p9_put32(&r->out, (uint32_t)n);
	p9_out_seek(&r->out, r->out.pos + (size_t)n);
	__atomic_add_fetch(&r->s->stats.read_bytes, (uint64_t)n, __ATOMIC_RELAXED);
out_fid:
	p9_fid_put(r->s, f);
	return ret;
}

int p9_op_write(struct p9_req *r)
{
	uint32_t fid = p9_get32(&r->in);
	uint64_t offset = p9_get64(&r->in);
	uint32_t count = p9_get32(&r->in);
	struct p9_fid *f;
	unsigned int niov;
	ssize_t n;
	int fd, ret;

	if (r->in.err)
		return r->in.err;
	/* The data follows the fields: all of it inside the message. */
	if (count > r->size - P9_WRITE_HDR)
		return -EINVAL;
	f = p9_req_fid(r, fid);
	if (!f)
		return -EBADF;
	if (f->kind == P9_FID_XATTR_WRITE) {
		ret = p9_xattr_write(r, f, offset, count);
		goto out_fid;
	}
	ret = -EROFS;
	if (p9_ro(r))
		goto out_fid;
	fd = open_fd_of(f);
	ret = -EBADF;
	if (f->kind != P9_FID_FILE || fd < 0 || (f->open_flags & O_ACCMODE) == O_RDONLY)
		goto out_fid;
	ret = -EINVAL;
	if (offset > INT64_MAX)
		goto out_fid;
	ret = p9_iov_slice(r->m->out, r->m->out_num, P9_WRITE_HDR, count, r->w->iov,
			   VIRTQ_MAX_SEGS, &niov);
	if (ret)
		goto out_fid;
	do {
		n = count ? pwritev(fd, r->w->iov, (int)niov, (off_t)offset) : 0;
	} while (n < 0 && errno == EINTR);
	if (n < 0) {
		ret = -errno;
		goto out_fid;
	}
	p9_put32(&r->out, (uint32_t)n);
	__atomic_add_fetch(&r->s->stats.write_bytes, (uint64_t)n, __ATOMIC_RELAXED);
out_fid:
	p9_fid_put(r->s, f);
	return ret;
}

/* One getdents64 record. */
struct linux_dirent64 {
	uint64_t d_ino;
	int64_t d_off;
	unsigned short d_reclen;
	unsigned char d_type;
	char d_name[];
};

/* Encodes entries from buf until count is reached; returns bytes used of
 * buf (entries sent), and the reply bytes through *used. */
static size_t put_entries(struct p9_req *r, struct p9_fid *f, const uint8_t *buf, size_t len,
			  size_t count, size_t *used)
{
	size_t off = 0;

	while (off < len) {
		const struct linux_dirent64 *d = (const void *)(buf + off);
		size_t name_len = strlen(d->d_name);
		size_t need = P9_QID_SIZE + 8 + 1 + 2 + name_len;
		struct p9_qid qid = { .path = d->d_ino };
		uint8_t type = d->d_type;

		if (*used + need > count)
			break;
		if (type == DT_DIR)
			qid.type = P9_QTDIR;
		else if (type == DT_LNK)
			qid.type = P9_QTSYMLINK;
		/* Mapped: a host regular file may be the guest's symlink or
		 * device node; the guest asks getattr when it needs to know. */
		if (r->s->cfg.mapped && type == DT_REG)
			type = DT_UNKNOWN;
		/* The root's ".." is the root, not the host directory above. */
		if (name_len == 2 && strcmp(d->d_name, "..") == 0 && f->fd >= 0) {
			struct stat st;

			if (fstat(f->fd, &st) == 0 && st.st_ino == r->s->root_ino &&
			    st.st_dev == r->s->root_dev)
				qid.path = r->s->root_ino;
		}
		p9_put_qid(&r->out, &qid);
		p9_put64(&r->out, (uint64_t)d->d_off);
		p9_put8(&r->out, type);
		p9_put_str(&r->out, d->d_name, name_len);
		*used += need;
		off += d->d_reclen;
	}
	return off;
}

int p9_op_readdir(struct p9_req *r)
{
	uint32_t fid = p9_get32(&r->in);
	uint64_t offset = p9_get64(&r->in);
	uint32_t count = p9_get32(&r->in);
	size_t used = 0;
	struct p9_fid *f;
	int fd, ret = 0;

	if (r->in.err)
		return r->in.err;
	if (p9_out_room(&r->out) < 4)
		return -EMSGSIZE;
	if (count > p9_out_room(&r->out) - 4)
		count = (uint32_t)(p9_out_room(&r->out) - 4);
	f = p9_req_fid(r, fid);
	if (!f)
		return -EBADF;
	fd = open_fd_of(f);
	if (f->kind != P9_FID_FILE || fd < 0 || !S_ISDIR(f->type)) {
		p9_fid_put(r->s, f);
		return -EBADF;
	}
	p9_put32(&r->out, 0); /* count, filled in below */
	/* The fid's directory position is shared: one readdir at a time. */
	pthread_mutex_lock(&f->lock);
	if (lseek(fd, (off_t)offset, SEEK_SET) < 0)
		ret = -errno;
	while (!ret && used < count) {
		long n = getdents64(fd, r->w->dirbuf, sizeof(r->w->dirbuf));
		size_t sent;

		if (n < 0) {
			ret = -errno;
			break;
		}
		if (n == 0)
			break;
		sent = put_entries(r, f, r->w->dirbuf, (size_t)n, count, &used);
		if (sent < (size_t)n)
			break; /* full: the next Treaddir starts at the last d_off */
	}
	pthread_mutex_unlock(&f->lock);
	if (!ret) {
		size_t end = r->out.pos;

		p9_out_seek(&r->out, P9_HDR_SIZE);
		p9_put32(&r->out, (uint32_t)used);
		p9_out_seek(&r->out, end);
	}
	p9_fid_put(r->s, f);
	return ret;
}

int p9_op_fsync(struct p9_req *r)
{
	uint32_t fid = p9_get32(&r->in), datasync;
	struct p9_fid *f;
	int fd, ret = 0;

	/* Older clients send no datasync field. */
	datasync = r->in.len - r->in.off >= 4 ? p9_get32(&r->in) : 0;
	if (r->in.err)
		return r->in.err;
	f = p9_req_fid(r, fid);
	if (!f)
		return -EBADF;
	fd = open_fd_of(f);
	if (fd < 0)
		ret = -EBADF;
	else if (datasync ? fdatasync(fd) : fsync(fd))
		ret = -errno;
	p9_fid_put(r->s, f);
	return ret;
}

static int lock_type(uint8_t t)
{
	switch (t) {
	case P9_LOCK_TYPE_RDLCK: return F_RDLCK;
	case P9_LOCK_TYPE_WRLCK: return F_WRLCK;
	case P9_LOCK_TYPE_UNLCK: return F_UNLCK;
	default: return -1;
	}
}

/* Locks are open-file-description locks on the fid's open file: each
 * guest open file has its own fid, so guests (and host processes) exclude
 * each other.  Never blocking: a conflict answers BLOCKED and Linux's v9fs
 * retries a blocking lock itself. */
int p9_op_lock(struct p9_req *r)
{
	uint32_t fid = p9_get32(&r->in);
	uint8_t type = p9_get8(&r->in);
	struct flock fl = { .l_whence = SEEK_SET };
	struct p9_fid *f;
	uint8_t status = P9_LOCK_SUCCESS;
	int fd;

	p9_get32(&r->in); /* flags */
	fl.l_start = (off_t)p9_get64(&r->in);
	fl.l_len = (off_t)p9_get64(&r->in);
	p9_get32(&r->in); /* proc_id */
	p9_get_str(&r->in, 1024);
	if (r->in.err)
		return r->in.err;
	if (lock_type(type) < 0 || fl.l_start < 0 || fl.l_len < 0)
		return -EINVAL;
	fl.l_type = (short)lock_type(type);
	f = p9_req_fid(r, fid);
	if (!f)
		return -EBADF;
	fd = open_fd_of(f);
	if (fd < 0)
		status = P9_LOCK_ERROR;
	else if (fcntl(fd, F_OFD_SETLK, &fl))
		status = errno == EAGAIN || errno == EACCES ? P9_LOCK_BLOCKED : P9_LOCK_ERROR;
	p9_fid_put(r->s, f);
	p9_put8(&r->out, status);
	return 0;
}

int p9_op_getlock(struct p9_req *r)
{
	uint32_t fid = p9_get32(&r->in);
	uint8_t type = p9_get8(&r->in);
	struct flock fl = { .l_whence = SEEK_SET };
	uint32_t proc_id;
	const char *client;
	struct p9_fid *f;
	int fd, ret = 0;

	fl.l_start = (off_t)p9_get64(&r->in);
	fl.l_len = (off_t)p9_get64(&r->in);
	proc_id = p9_get32(&r->in);
	client = p9_get_str(&r->in, 1024);
	if (r->in.err)
		return r->in.err;
	if (lock_type(type) < 0 || fl.l_start < 0 || fl.l_len < 0)
		return -EINVAL;
	/* Linux's v9fs asks with UNLCK once it found no conflict in the guest:
	 * "is there any lock?", which is what a write lock would collide with. */
	fl.l_type = type == P9_LOCK_TYPE_UNLCK ? F_WRLCK : (short)lock_type(type);
	f = p9_req_fid(r, fid);
	if (!f)
		return -EBADF;
	fd = open_fd_of(f);
	if (fd < 0)
		ret = -EBADF;
	else if (fcntl(fd, F_OFD_GETLK, &fl))
		ret = -errno;
	p9_fid_put(r->s, f);
	if (ret)
		return ret;
	p9_put8(&r->out, fl.l_type == F_RDLCK ? P9_LOCK_TYPE_RDLCK :
			 fl.l_type == F_WRLCK ? P9_LOCK_TYPE_WRLCK : P9_LOCK_TYPE_UNLCK);
	p9_put64(&r->out, (uint64_t)fl.l_start);
	p9_put64(&r->out, (uint64_t)fl.l_len);
	p9_put32(&r->out, fl.l_type == F_UNLCK ? proc_id : (uint32_t)fl.l_pid);
	p9_put_str(&r->out, client, strlen(client));
	return 0;
}

int p9_op_statfs(struct p9_req *r)
{
	uint32_t fid = p9_get32(&r->in);
	struct p9_fid *f;
	struct statfs sf;
	int ret = 0;

	if (r->in.err)
		return r->in.err;
	f = p9_req_fid(r, fid);
	if (!f)
		return -EBADF;
	if (fstatfs(f->fd >= 0 ? f->fd : r->s->root_fd, &sf))
		ret = -errno;
	p9_fid_put(r->s, f);
	if (ret)
		return ret;
	p9_put32(&r->out, (uint32_t)sf.f_type);
	p9_put32(&r->out, (uint32_t)sf.f_bsize);
	p9_put64(&r->out, sf.f_blocks);
	p9_put64(&r->out, sf.f_bfree);
	p9_put64(&r->out, sf.f_bavail);
	p9_put64(&r->out, sf.f_files);
	p9_put64(&r->out, sf.f_ffree);
	p9_put64(&r->out, (uint64_t)(uint32_t)sf.f_fsid.__val[0] |
			  (uint64_t)(uint32_t)sf.f_fsid.__val[1] << 32);
	p9_put32(&r->out, (uint32_t)sf.f_namelen);
	return 0;
}
