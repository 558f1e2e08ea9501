/* Who owns a file, and with what mode: the two security models.
 *
 * passthrough: the guest's owners and modes are the host's.  Meant for a
 *   sardine running as root; as another user a chown the host refuses fails
 *   with EPERM (and a new file simply stays ours).
 * mapped: the host file keeps our ownership and a private mode (0600 files,
 *   0700 directories) and the guest's uid, gid, mode and rdev live in
 *   user.virtfs.{uid,gid,mode,rdev} xattrs, in the format QEMU's
 *   security_model=mapped-xattr uses (le32 uid/gid/mode, le64 rdev), so an
 *   unprivileged user can serve a root file system with root-owned files,
 *   device nodes and set-uid bits that mean nothing on the host.  Symbolic
 *   links and device nodes the guest creates are regular files there (the
 *   link's target is the file's content).  A host file without the xattrs
 *   shows its host values.
 *
 * xattrs of an O_PATH descriptor are reached through /proc/self/fd/N, which
 * names our own descriptor's inode (see path.c). */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "9p/internal.h"

#define XATTR_UID "user.virtfs.uid"
#define XATTR_GID "user.virtfs.gid"
#define XATTR_MODE "user.virtfs.mode"
#define XATTR_RDEV "user.virtfs.rdev"
#define XATTR_PREFIX "user.virtfs."

static bool has_xattrs(mode_t host_type)
{
	/* Linux allows user.* xattrs on regular files and directories only. */
	return S_ISREG(host_type) || S_ISDIR(host_type);
}

static bool get_u32(const char *path, const char *name, uint32_t *v)
{
	uint32_t le;

	if (getxattr(path, name, &le, sizeof(le)) != sizeof(le))
		return false;
	*v = le32toh(le);
	return true;
}

static int set_u32(const char *path, const char *name, uint32_t v)
{
	uint32_t le = htole32(v);

	return setxattr(path, name, &le, sizeof(le), 0) ? -errno : 0;
}

int p9_stat(struct p9_server *s, int fd, struct stat *st)
{
	char path[32];
	uint32_t v;
	uint64_t rdev;

	if (fstat(fd, st))
		return -errno;
	if (!s->cfg.mapped || !has_xattrs(st->st_mode))
		return 0;
	p9_proc_path(fd, path);
	if (get_u32(path, XATTR_MODE, &v) && (v & S_IFMT))
		st->st_mode = v;
	if (get_u32(path, XATTR_UID, &v))
		st->st_uid = v;
	if (get_u32(path, XATTR_GID, &v))
		st->st_gid = v;
	/* Only device nodes carry an rdev: one lookup less for the rest. */
	if ((S_ISCHR(st->st_mode) || S_ISBLK(st->st_mode)) &&
	    getxattr(path, XATTR_RDEV, &rdev, sizeof(rdev)) == sizeof(rdev))
		st->st_rdev = le64toh(rdev);
	return 0;
}

mode_t p9_mapped_mode(struct p9_server *s, int fd, mode_t host_type)
{
	char path[32];
	uint32_t v;

	if (!s->cfg.mapped || !S_ISREG(host_type))
		return 0;
	p9_proc_path(fd, path);
	return get_u32(path, XATTR_MODE, &v) ? (mode_t)v : 0;
}

void p9_qid_of(const struct stat *st, struct p9_qid *q)
{
	if (S_ISDIR(st->st_mode))
		q->type = P9_QTDIR;
	else if (S_ISLNK(st->st_mode))
		q->type = P9_QTSYMLINK;
	else
		q->type = P9_QTFILE;
	/* As QEMU: changes when the file does, for v9fs's cache checks. */
	q->version = (uint32_t)(st->st_mtime ^ ((uint64_t)st->st_size << 8));
	q->path = st->st_ino;
}

static int chown_host(struct p9_server *s, int fd, uint32_t uid, uint32_t gid)
{
	if (fchownat(fd, "", uid, gid, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW))
		return -errno;
	return 0;
}

static int chmod_host(struct p9_server *s, int fd, mode_t mode)
{
	char name[16];

	snprintf(name, sizeof(name), "%d", fd);
	return fchmodat(s->proc_fd, name, mode & 07777, 0) ? -errno : 0;
}

int p9_set_owner_new(struct p9_server *s, int fd, uint32_t uid, uint32_t gid, mode_t mode,
		     dev_t rdev)
{
	char path[32];
	uint64_t le;
	int ret;

	if (!s->cfg.mapped) {
		if (!S_ISLNK(mode) && (mode & s->umask & 07777)) {
			ret = chmod_host(s, fd, mode);
			if (ret)
				return ret;
		}
		ret = chown_host(s, fd, uid, gid);
		/* Not root: the file stays ours, as on any unprivileged server. */
		return ret == -EPERM && !s->is_root ? 0 : ret;
	}
	p9_proc_path(fd, path);
	ret = set_u32(path, XATTR_UID, uid);
	if (!ret)
		ret = set_u32(path, XATTR_GID, gid);
	if (!ret)
		ret = set_u32(path, XATTR_MODE, mode);
	if (!ret && (S_ISCHR(mode) || S_ISBLK(mode))) {
		le = htole64((uint64_t)rdev);
		if (setxattr(path, XATTR_RDEV, &le, sizeof(le), 0))
			ret = -errno;
	}
	return ret;
}

int p9_chmod(struct p9_server *s, int fd, mode_t type, mode_t mode)
{
	char path[32];
	mode_t cur;

	if (!s->cfg.mapped)
		return S_ISLNK(type) ? -EOPNOTSUPP : chmod_host(s, fd, mode);
	if (!has_xattrs(type))
		return -EOPNOTSUPP;
	cur = p9_mapped_mode(s, fd, type);
	if (!(cur & S_IFMT))
		cur = type;
	p9_proc_path(fd, path);
	return set_u32(path, XATTR_MODE, (cur & S_IFMT) | (mode & 07777));
}

int p9_chown(struct p9_server *s, int fd, mode_t type, uint32_t uid, uint32_t gid)
{
	char path[32];
	int ret = 0;

	if (!s->cfg.mapped)
		return chown_host(s, fd, uid, gid);
	if (!has_xattrs(type))
		return -EOPNOTSUPP;
	p9_proc_path(fd, path);
	if (uid != (uint32_t)-1)
		ret = set_u32(path, XATTR_UID, uid);
	if (!ret && gid != (uint32_t)-1)
		ret = set_u32(path, XATTR_GID, gid);
	return ret;
}

bool p9_xattr_reserved(struct p9_server *s, const char *name)
{
	return s->cfg.mapped && strncmp(name, XATTR_PREFIX, strlen(XATTR_PREFIX)) == 0;
}
