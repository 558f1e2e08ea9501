#define LOG_TAG "9p"
/* The 9P2000.L server: session, dispatch, and the fid-shaping messages
 * (version, attach, walk, clunk).  The other operations live in file.c,
 * meta.c and dir.c; path.c is the only place a guest name becomes a host
 * file.
 *
 * A request is decoded from a private copy (the guest may change its
 * buffers meanwhile).  Whatever is wrong with it, the guest gets an Rlerror:
 * a short or oversized message, a string with a NUL or longer than allowed,
 * an unknown fid or type.  Nothing a guest sends ends the server. */
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "9p/internal.h"

#define DEFAULT_MSIZE 8192 /* until Tversion says otherwise */

static mode_t current_umask(void)
{
	FILE *f = fopen("/proc/self/status", "re");
	char line[128];
	unsigned int mask = 022;

	if (!f)
		return 022;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "Umask: %o", &mask) == 1)
			break;
	fclose(f);
	return (mode_t)mask;
}

static int open_root(struct p9_server *s)
{
	struct open_how how = { .flags = O_PATH | O_DIRECTORY | O_CLOEXEC };
	struct stat st;

	/* openat2 is the foundation of every lookup: refuse to run without. */
	if (syscall(SYS_openat2, AT_FDCWD, "/", &how, sizeof(how)) < 0 && errno == ENOSYS) {
		log_error("%s: this kernel has no openat2 (Linux 5.6+ needed for --share)",
			  s->cfg.root);
		return -ENOSYS;
	}
	s->root_fd = open(s->cfg.root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (s->root_fd < 0) {
		int err = -errno;

		log_error("--share %s: %s", s->cfg.root, strerror(errno));
		return err;
	}
	if (fstat(s->root_fd, &st)) {
		int err = -errno;

		log_error("--share %s: %s", s->cfg.root, strerror(errno));
		return err;
	}
	s->root_dev = st.st_dev;
	s->root_ino = st.st_ino;
	s->proc_fd = open("/proc/self/fd", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (s->proc_fd < 0) {
		int err = -errno;

		log_error("--share needs /proc mounted: /proc/self/fd: %s", strerror(errno));
		return err;
	}
	return 0;
}

/* Two descriptors a fid at most, for every share: raise RLIMIT_NOFILE to
 * hold the cap (the hard limit too, when we may), or lower the cap to fit. */
static unsigned int fit_fid_cap(unsigned int want, unsigned int shares)
{
	rlim_t per_fid = 2 * (rlim_t)(shares ? shares : 1), reserve = 1024;
	rlim_t need = want * per_fid + reserve;
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl))
		return want;
	if (rl.rlim_cur < need) {
		struct rlimit up = { need, rl.rlim_max == RLIM_INFINITY || rl.rlim_max > need ?
					   rl.rlim_max : need };

		if (setrlimit(RLIMIT_NOFILE, &up)) {
			up.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > need ? need
											 : rl.rlim_max;
			up.rlim_max = rl.rlim_max;
			if (setrlimit(RLIMIT_NOFILE, &up))
				up = rl;
		}
		rl = up;
	}
	if (rl.rlim_cur >= need)
		return want;
	/* Keep half the descriptors for the rest of sardine. */
	if (rl.rlim_cur / 2 / per_fid < 16)
		return want < 16 ? want : 16;
	return rl.rlim_cur / 2 / per_fid < want ? (unsigned int)(rl.rlim_cur / 2 / per_fid) : want;
}

int p9_server_create(struct p9_server **out, const struct p9_config *cfg)
{
	struct p9_server *s = calloc(1, sizeof(*s));
	unsigned int max_fids;
	int ret;

	if (!s)
		return -ENOMEM;
	s->cfg = *cfg;
	s->root_fd = s->proc_fd = -1;
	s->root_path = strdup(cfg->root);
	if (!s->root_path) {
		ret = -ENOMEM;
		goto err;
	}
	s->cfg.root = s->root_path;
	ret = open_root(s);
	if (ret)
		goto err;
	max_fids = fit_fid_cap(cfg->max_fids ? cfg->max_fids : P9_DEFAULT_MAX_FIDS,
			       cfg->nr_shares);
	if (max_fids < (cfg->max_fids ? cfg->max_fids : P9_DEFAULT_MAX_FIDS))
		log_warn("--share %s: only %u fids (RLIMIT_NOFILE); guests may see EMFILE",
			 cfg->root, max_fids);
	ret = p9_fids_init(&s->fids, max_fids);
	if (ret)
		goto err;
	s->is_root = geteuid() == 0;
	s->umask = current_umask();
	s->msize = DEFAULT_MSIZE;
	*out = s;
	return 0;
err:
	p9_server_destroy(s);
	return ret;
}

void p9_server_destroy(struct p9_server *s)
{
	if (!s)
		return;
	p9_fids_destroy(s, &s->fids);
	if (s->proc_fd >= 0)
		close(s->proc_fd);
	if (s->root_fd >= 0)
		close(s->root_fd);
	free(s->root_path);
	free(s);
}

void p9_server_reset(struct p9_server *s)
{
	p9_fids_clear(s, &s->fids);
	__atomic_store_n(&s->msize, DEFAULT_MSIZE, __ATOMIC_RELAXED);
}

void p9_server_stats(struct p9_server *s, struct p9_stats *st)
{
	st->requests = __atomic_load_n(&s->stats.requests, __ATOMIC_RELAXED);
	st->errors = __atomic_load_n(&s->stats.errors, __ATOMIC_RELAXED);
	st->read_bytes = __atomic_load_n(&s->stats.read_bytes, __ATOMIC_RELAXED);
	st->write_bytes = __atomic_load_n(&s->stats.write_bytes, __ATOMIC_RELAXED);
}

unsigned int p9_server_fid_count(struct p9_server *s)
{
	unsigned int n;

	pthread_mutex_lock(&s->fids.lock);
	n = s->fids.count;
	pthread_mutex_unlock(&s->fids.lock);
	return n;
}

struct p9_worker *p9_worker_create(void)
{
	return calloc(1, sizeof(struct p9_worker));
}

void p9_worker_destroy(struct p9_worker *w)
{
	free(w);
}

struct p9_fid *p9_req_fid(struct p9_req *r, uint32_t id)
{
	return p9_fid_get(&r->s->fids, id);
}

/* ---- session ---- */

static int op_version(struct p9_req *r)
{
	uint32_t msize = p9_get32(&r->in);
	const char *version = p9_get_str(&r->in, 32);

	if (r->in.err)
		return r->in.err;
	if (msize < P9_MIN_MSIZE)
		return -EINVAL;
	if (msize > P9_MAX_MSIZE)
		msize = P9_MAX_MSIZE;
	/* A new session: every fid of the old one is gone. */
	p9_fids_clear(r->s, &r->s->fids);
	__atomic_store_n(&r->s->msize, msize, __ATOMIC_RELAXED);
	p9_put32(&r->out, msize);
	if (strcmp(version, P9_VERSION_L) == 0)
		p9_put_str(&r->out, P9_VERSION_L, strlen(P9_VERSION_L));
	else
		p9_put_str(&r->out, "unknown", 7);
	return 0;
}

static int op_auth(struct p9_req *r)
{
	return -EOPNOTSUPP; /* no authentication: attach with afid = NOFID */
}

static int op_attach(struct p9_req *r)
{
	uint32_t fid = p9_get32(&r->in), afid = p9_get32(&r->in);
	struct p9_fid *f;
	struct p9_qid qid;
	struct stat st;
	uint32_t uid;
	int fd, ret;

	p9_get_str(&r->in, 255); /* uname */
	p9_get_str(&r->in, 4096); /* aname: there is one tree per share */
	uid = p9_get32(&r->in);
	if (r->in.err)
		return r->in.err;
	if (afid != P9_NOFID)
		return -EINVAL;
	if (fstat(r->s->root_fd, &st))
		return -errno;
	fd = fcntl(r->s->root_fd, F_DUPFD_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	f = p9_fid_new(fid, fd, S_IFDIR, uid == P9_NONUNAME ? 0 : uid);
	if (!f) {
		close(fd);
		return -ENOMEM;
	}
	ret = p9_fid_insert(&r->s->fids, f, false, r->s);
	if (ret) {
		p9_fid_put(r->s, f);
		return ret;
	}
	p9_qid_of(&st, &qid);
	p9_put_qid(&r->out, &qid);
	return 0;
}

static int op_flush(struct p9_req *r)
{
	/* Reached only without a transport that tracks requests: nothing is
	 * in flight here, so the old request was answered already. */
	p9_get16(&r->in);
	return r->in.err;
}

/* ---- walk ---- */

static int walk_one(struct p9_server *s, int cur, const char *name, int *next)
{
	if (strcmp(name, "..") == 0)
		return p9_lookup_parent(s, cur, next);
	return p9_lookup(s, cur, name, next);
}

int p9_op_walk(struct p9_req *r)
{
	uint32_t fid = p9_get32(&r->in), newfid = p9_get32(&r->in);
	uint16_t nwname = p9_get16(&r->in);
	const char *names[P9_MAXWELEM];
	struct p9_qid qids[P9_MAXWELEM];
	struct p9_fid *f, *nf;
	struct stat st;
	int cur, ret = 0;
	uint16_t done = 0;

	if (nwname > P9_MAXWELEM)
		return -EINVAL;
	for (uint16_t i = 0; i < nwname; i++)
		names[i] = p9_get_str(&r->in, NAME_MAX);
	if (r->in.err)
		return r->in.err;
	f = p9_req_fid(r, fid);
	if (!f)
		return -EBADF;
	if (f->kind != P9_FID_FILE) {
		ret = -EINVAL;
		goto out_fid;
	}
	/* The first step starts from the fid's own descriptor (held while f
	 * is); only a clone (no names) needs a copy of it. */
	cur = nwname ? f->fd : fcntl(f->fd, F_DUPFD_CLOEXEC, 0);
	if (cur < 0) {
		ret = -errno;
		goto out_fid;
	}
	st.st_mode = f->type;
	for (; done < nwname; done++) {
		int next;

		ret = walk_one(r->s, cur, names[done], &next);
		if (!ret && fstat(next, &st)) {
			ret = -errno;
			close(next);
		}
		if (ret)
			break;
		if (cur != f->fd)
			close(cur);
		cur = next;
		p9_qid_of(&st, &qids[done]);
	}
	if (ret && done == 0)
		goto out_fid; /* the first name failed: Rlerror (cur is f's) */
	if (done < nwname) {
		if (cur != f->fd)
			close(cur); /* partial: the qids walked, no new fid */
		ret = 0;
	} else {
		nf = p9_fid_new(newfid, cur, st.st_mode & S_IFMT, f->uid);
		if (!nf) {
			close(cur);
			ret = -ENOMEM;
			goto out_fid;
		}
		ret = p9_fid_insert(&r->s->fids, nf, newfid == fid, r->s);
		if (ret) {
			p9_fid_put(r->s, nf);
			goto out_fid;
		}
	}
	p9_put16(&r->out, done);
	for (uint16_t i = 0; i < done; i++)
		p9_put_qid(&r->out, &qids[i]);
out_fid:
	p9_fid_put(r->s, f);
	return ret;
}

static int op_clunk(struct p9_req *r)
{
	uint32_t fid = p9_get32(&r->in);
	struct p9_fid *f;
	int ret = 0;

	if (r->in.err)
		return r->in.err;
	f = p9_fid_remove(&r->s->fids, fid);
	if (!f)
		return -EBADF;
	if (f->kind == P9_FID_XATTR_WRITE) {
		pthread_mutex_lock(&f->lock);
		ret = p9_xattr_commit(r->s, f);
		pthread_mutex_unlock(&f->lock);
	}
	p9_fid_put(r->s, f);
	return ret;
}

/* Tremove and Trename name a file by its fid alone, which an fd-based
 * server cannot turn back into (directory, name); Linux uses Tunlinkat and
 * Trenameat instead, falling back to these only when those are missing. */
static int op_remove(struct p9_req *r)
{
	uint32_t fid = p9_get32(&r->in);
	struct p9_fid *f;

	if (r->in.err)
		return r->in.err;
	f = p9_fid_remove(&r->s->fids, fid); /* Tremove clunks, even failing */
	if (!f)
		return -EBADF;
	p9_fid_put(r->s, f);
	return -EOPNOTSUPP;
}

static p9_op_fn op_of(uint8_t type)
{
	switch (type) {
	case P9_TVERSION: return op_version;
	case P9_TAUTH: return op_auth;
	case P9_TATTACH: return op_attach;
	case P9_TFLUSH: return op_flush;
	case P9_TWALK: return p9_op_walk;
	case P9_TCLUNK: return op_clunk;
	case P9_TREMOVE: return op_remove;
	case P9_TLOPEN: return p9_op_lopen;
	case P9_TLCREATE: return p9_op_lcreate;
	case P9_TREAD: return p9_op_read;
	case P9_TWRITE: return p9_op_write;
	case P9_TREADDIR: return p9_op_readdir;
	case P9_TFSYNC: return p9_op_fsync;
	case P9_TLOCK: return p9_op_lock;
	case P9_TGETLOCK: return p9_op_getlock;
	case P9_TSTATFS: return p9_op_statfs;
	case P9_TGETATTR: return p9_op_getattr;
	case P9_TSETATTR: return p9_op_setattr;
	case P9_TXATTRWALK: return p9_op_xattrwalk;
	case P9_TXATTRCREATE: return p9_op_xattrcreate;
	case P9_TMKDIR: return p9_op_mkdir;
	case P9_TMKNOD: return p9_op_mknod;
	case P9_TSYMLINK: return p9_op_symlink;
	case P9_TREADLINK: return p9_op_readlink;
	case P9_TLINK: return p9_op_link;
	case P9_TRENAME: return p9_op_rename;
	case P9_TRENAMEAT: return p9_op_renameat;
	case P9_TUNLINKAT: return p9_op_unlinkat;
	default: return NULL;
	}
}

/* ---- framing ---- */

static uint32_t finish(const struct p9_msg *m, struct p9_out *o, uint8_t type, uint16_t tag)
{
	uint32_t len = (uint32_t)o->pos;

	if (o->overflow)
		return 0;
	p9_out_seek(o, 0);
	p9_put32(o, len);
	p9_put8(o, type);
	p9_put16(o, tag);
	return o->overflow ? 0 : len;
}

uint32_t p9_reply_error(const struct p9_msg *m, uint16_t tag, int err)
{
	struct p9_out o;

	p9_out_init(&o, m->in, m->in_num, m->in_len);
	p9_out_seek(&o, P9_HDR_SIZE);
	p9_put32(&o, (uint32_t)(err < 0 ? -err : err));
	return finish(m, &o, P9_RLERROR, tag);
}

uint32_t p9_reply_flush(const struct p9_msg *m, uint16_t tag)
{
	struct p9_out o;

	p9_out_init(&o, m->in, m->in_num, m->in_len);
	p9_out_seek(&o, P9_HDR_SIZE);
	return finish(m, &o, P9_RFLUSH, tag);
}

int p9_peek(const struct p9_msg *m, uint8_t *type, uint16_t *tag, uint16_t *oldtag)
{
	uint8_t hdr[P9_HDR_SIZE + 2];
	size_t got = iov_to_buf(m->out, m->out_num, 0, hdr, sizeof(hdr));

	if (got < P9_HDR_SIZE)
		return -EINVAL;
	*type = hdr[4];
	*tag = (uint16_t)(hdr[5] | hdr[6] << 8);
	*oldtag = got == sizeof(hdr) ? (uint16_t)(hdr[7] | hdr[8] << 8) : P9_NOTAG;
	return 0;
}

static void count(uint64_t *c, uint64_t n)
{
	__atomic_add_fetch(c, n, __ATOMIC_RELAXED);
}

uint32_t p9_handle(struct p9_server *s, struct p9_worker *w, const struct p9_msg *m)
{
	struct p9_req r = { .s = s, .w = w, .m = m };
	uint32_t msize = __atomic_load_n(&s->msize, __ATOMIC_RELAXED), copy, len;
	size_t cap;
	p9_op_fn fn;
	int ret;

	count(&s->stats.requests, 1);
	if (iov_to_buf(m->out, m->out_num, 0, w->req, P9_HDR_SIZE) < P9_HDR_SIZE) {
		ret = -EINVAL;
		r.tag = P9_NOTAG;
		goto error;
	}
	r.size = (uint32_t)(w->req[0] | w->req[1] << 8 | w->req[2] << 16 | (uint32_t)w->req[3] << 24);
	r.type = w->req[4];
	r.tag = (uint16_t)(w->req[5] | w->req[6] << 8);
	/* Tversion may come before any msize is agreed. */
	if (r.size < P9_HDR_SIZE || r.size > m->out_len ||
	    r.size > (r.type == P9_TVERSION ? P9_MAX_MSIZE : msize)) {
		ret = -EMSGSIZE;
		goto error;
	}
	/* Only Twrite carries more than P9_REQ_MAX; its data is not copied. */
	if (r.size > P9_REQ_MAX && r.type != P9_TWRITE) {
		ret = -EMSGSIZE;
		goto error;
	}
	copy = r.size < P9_REQ_MAX ? r.size : P9_REQ_MAX;
	iov_to_buf(m->out, m->out_num, 0, w->req, copy);
	p9_in_init(&r.in, w->req + P9_HDR_SIZE, copy - P9_HDR_SIZE, w->arena, sizeof(w->arena));
	cap = m->in_len < msize ? m->in_len : msize;
	p9_out_init(&r.out, m->in, m->in_num, cap);
	p9_out_seek(&r.out, P9_HDR_SIZE);
	fn = op_of(r.type);
	if (!fn || r.type % 2) {
		ret = -EOPNOTSUPP;
		goto error;
	}
	ret = fn(&r);
	if (ret)
		goto error;
	len = finish(m, &r.out, r.type + 1, r.tag);
	if (len)
		return len;
	ret = -EMSGSIZE; /* the reply did not fit the driver's buffers */
error:
	count(&s->stats.errors, 1);
	return p9_reply_error(m, r.tag, ret);
}
