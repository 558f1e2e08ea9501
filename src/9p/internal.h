/* Inside the 9P server: codec, fid table, secure lookups, operations. */
#ifndef SARDINE_9P_INTERNAL_H
#define SARDINE_9P_INTERNAL_H

#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "9p/p9.h"
#include "9p/proto.h"
#include "virtio/queue.h" /* VIRTQ_MAX_SEGS */
#include "vmm/log.h"

/* The private copy of a request's fields.  Every message but Twrite fits
 * (16 names of at most NAME_MAX, a PATH_MAX symlink target); a Twrite's data
 * is never copied, it goes from the guest buffers to the file. */
#define P9_REQ_MAX 12288
#define P9_DIRBUF 65536         /* getdents64 scratch per worker */
#define P9_XATTR_MAX 65536      /* one xattr value or list (XATTR_SIZE_MAX) */
#define P9_XATTR_BUDGET (16u << 20) /* xattr buffers held by all fids */

/* ---- codec ---- */

/* Decoder over the private copy; strings are copied, NUL-terminated, into
 * an arena so they stay valid while the request is served. */
struct p9_in {
	const uint8_t *buf;
	uint32_t len, off;
	char *arena;
	size_t arena_len, arena_off;
	int err;           /* first error: -EINVAL (truncated, bad string) */
};

/* Encoder straight into the guest's reply buffers. */
struct p9_out {
	const struct iovec *iov;
	unsigned int n, idx;
	size_t off;        /* inside iov[idx] */
	size_t pos, cap;   /* bytes written, limit (min of buffers and msize) */
	bool overflow;
};

struct p9_qid {
	uint8_t type;
	uint32_t version;
	uint64_t path;
};

void p9_in_init(struct p9_in *in, const uint8_t *buf, uint32_t len, char *arena,
		size_t arena_len);
uint8_t p9_get8(struct p9_in *in);
uint16_t p9_get16(struct p9_in *in);
uint32_t p9_get32(struct p9_in *in);
uint64_t p9_get64(struct p9_in *in);
/* A string of at most max bytes without NUL; NULL and in->err set when not. */
const char *p9_get_str(struct p9_in *in, size_t max);

void p9_out_init(struct p9_out *o, const struct iovec *iov, unsigned int n, size_t cap);
void p9_out_seek(struct p9_out *o, size_t pos);
void p9_put8(struct p9_out *o, uint8_t v);
void p9_put16(struct p9_out *o, uint16_t v);
void p9_put32(struct p9_out *o, uint32_t v);
void p9_put64(struct p9_out *o, uint64_t v);
void p9_put_bytes(struct p9_out *o, const void *p, size_t len);
void p9_put_str(struct p9_out *o, const char *s, size_t len);
void p9_put_qid(struct p9_out *o, const struct p9_qid *q);
static inline size_t p9_out_room(const struct p9_out *o)
{
	return o->overflow ? 0 : o->cap - o->pos;
}
/* The next len bytes of the reply as iovecs (for preadv); does not advance. */
int p9_out_slice(const struct p9_out *o, size_t len, struct iovec *dst, unsigned int max,
		 unsigned int *n);
/* Bytes [skip, skip+len) of an iovec list as iovecs. */
int p9_iov_slice(const struct iovec *iov, unsigned int n, size_t skip, size_t len,
		 struct iovec *dst, unsigned int max, unsigned int *out_n);

/* ---- fids ---- */

enum p9_fid_kind { P9_FID_FILE, P9_FID_XATTR_READ, P9_FID_XATTR_WRITE };

struct p9_fid {
	uint32_t id;
	int refs;            /* atomic; the table holds one */
	enum p9_fid_kind kind;
	int fd;              /* O_PATH beneath the root (an open fd after lcreate) */
	int open_fd;         /* after Tlopen/Tlcreate, else -1 */
	int open_flags;      /* host flags of open_fd */
	mode_t type;         /* S_IFMT bits of the host inode */
	uint32_t uid;        /* the user that attached */
	pthread_mutex_t lock; /* open state, directory position, xattr buffer */
	/* xattr fids: the value (read) or the value being written */
	char *xname;
	uint8_t *xbuf;
	size_t xlen, xsize;
	int xflags;
	struct p9_fid *next; /* hash chain */
};

struct p9_fid_table {
	pthread_mutex_t lock;
	struct p9_fid **bucket;
	unsigned int nbuckets, count, max;
};

int p9_fids_init(struct p9_fid_table *t, unsigned int max);
void p9_fids_destroy(struct p9_server *s, struct p9_fid_table *t);
struct p9_fid *p9_fid_new(uint32_t id, int fd, mode_t type, uint32_t uid);
/* Puts f in the table (which takes the caller's reference): -EBADF when the
 * id is in use (unless replace), -EMFILE at the cap. */
int p9_fid_insert(struct p9_fid_table *t, struct p9_fid *f, bool replace, struct p9_server *s);
struct p9_fid *p9_fid_get(struct p9_fid_table *t, uint32_t id);
/* Takes the fid out of the table; the caller gets the table's reference. */
struct p9_fid *p9_fid_remove(struct p9_fid_table *t, uint32_t id);
void p9_fid_put(struct p9_server *s, struct p9_fid *f);
void p9_fids_clear(struct p9_server *s, struct p9_fid_table *t);

/* ---- the server ---- */

struct p9_server {
	struct p9_config cfg;
	char *root_path;
	int root_fd;          /* O_PATH of the share's root */
	dev_t root_dev;
	ino_t root_ino;
	int proc_fd;          /* /proc/self/fd, to reopen O_PATH descriptors */
	bool is_root;         /* euid 0: passthrough may chown */
	mode_t umask;         /* ours, undone on the modes the guest asks for */
	uint32_t msize;       /* negotiated; atomic */
	struct p9_fid_table fids;
	uint64_t xattr_bytes; /* held in fids' xattr buffers; atomic */
	struct p9_stats stats;
	struct log_ratelimit rl;
};

struct p9_worker {
	uint8_t req[P9_REQ_MAX];
	char arena[P9_REQ_MAX + 2 * P9_MAXWELEM];
	struct iovec iov[VIRTQ_MAX_SEGS];
	uint8_t dirbuf[P9_DIRBUF];
};

/* One request being served: decoder, encoder and where the request's bytes
 * are in the guest buffers (for Twrite data). */
struct p9_req {
	struct p9_server *s;
	struct p9_worker *w;
	const struct p9_msg *m;
	uint32_t size;      /* the message's size field */
	uint8_t type;
	uint16_t tag;
	struct p9_in in;
	struct p9_out out;
};

/* Each op decodes its fields, replies through r->out and returns 0, or
 * returns -errno for an Rlerror (the reply so far is discarded). */
typedef int (*p9_op_fn)(struct p9_req *r);

/* server.c */
int p9_op_walk(struct p9_req *r);
/* Finds the fid of the request; -EBADF when unknown. */
struct p9_fid *p9_req_fid(struct p9_req *r, uint32_t id);

/* path.c: every lookup of a guest-supplied name */
int p9_check_name(const char *name);
int p9_lookup(struct p9_server *s, int dirfd, const char *name, int *out);
int p9_lookup_parent(struct p9_server *s, int fd, int *out);
int p9_reopen(struct p9_server *s, int fd, int flags, int *out);
void p9_proc_path(int fd, char buf[32]);
int p9_openat_beneath(int dirfd, const char *name, int flags, mode_t mode);

/* file.c */
int p9_op_lopen(struct p9_req *r);
int p9_op_lcreate(struct p9_req *r);
int p9_op_read(struct p9_req *r);
int p9_op_write(struct p9_req *r);
int p9_op_readdir(struct p9_req *r);
int p9_op_fsync(struct p9_req *r);
int p9_op_lock(struct p9_req *r);
int p9_op_getlock(struct p9_req *r);
int p9_op_statfs(struct p9_req *r);

/* meta.c */
int p9_op_getattr(struct p9_req *r);
int p9_op_setattr(struct p9_req *r);
int p9_op_xattrwalk(struct p9_req *r);
int p9_op_xattrcreate(struct p9_req *r);
int p9_xattr_read(struct p9_req *r, struct p9_fid *f, uint64_t off, uint32_t count);
int p9_xattr_write(struct p9_req *r, struct p9_fid *f, uint64_t off, uint32_t count);
/* Applies a Txattrcreate'd value at Tclunk. */
int p9_xattr_commit(struct p9_server *s, struct p9_fid *f);
void p9_xattr_release(struct p9_server *s, struct p9_fid *f);

/* dir.c */
int p9_op_mkdir(struct p9_req *r);
int p9_op_mknod(struct p9_req *r);
int p9_op_symlink(struct p9_req *r);
int p9_op_readlink(struct p9_req *r);
int p9_op_link(struct p9_req *r);
int p9_op_rename(struct p9_req *r);
int p9_op_renameat(struct p9_req *r);
int p9_op_unlinkat(struct p9_req *r);
int p9_op_remove(struct p9_req *r);

/* security.c: ownership and modes, passthrough or mapped into xattrs */
int p9_stat(struct p9_server *s, int fd, struct stat *st);
void p9_qid_of(const struct stat *st, struct p9_qid *q);
/* The new inode fd was just created for uid/gid with the guest's mode
 * (type bits included) and rdev: record them. */
int p9_set_owner_new(struct p9_server *s, int fd, uint32_t uid, uint32_t gid, mode_t mode,
		     dev_t rdev);
int p9_chmod(struct p9_server *s, int fd, mode_t type, mode_t mode);
int p9_chown(struct p9_server *s, int fd, mode_t type, uint32_t uid, uint32_t gid);
/* Whether a guest xattr name is one the server keeps for itself. */
bool p9_xattr_reserved(struct p9_server *s, const char *name);
/* Reads the mapped mode of a host regular file (a mapped symlink or device
 * node); 0 when it has none. */
mode_t p9_mapped_mode(struct p9_server *s, int fd, mode_t host_type);

static inline bool p9_ro(const struct p9_req *r)
{
	return r->s->cfg.readonly;
}

#endif
