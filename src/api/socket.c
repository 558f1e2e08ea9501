#include "api/socket.h"
#include "vmm/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define LISTEN_BACKLOG 512 /* many clients at once wait here, not refused */

/* The directory must be a real directory (not a symlink), ours, and
 * writable by nobody else: then nobody else can plant anything in it. */
static int check_dir(const char *dir, char *err, size_t errlen)
{
	struct stat st;

	if (lstat(dir, &st) < 0)
		return err_reason(err, errlen, -errno, "%s: %s", dir, strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return err_reason(err, errlen, -ENOTDIR, "%s is not a directory", dir);
	if (st.st_uid != geteuid() || (st.st_mode & 022))
		return err_reason(err, errlen, -EPERM,
			      "%s must belong to you and be writable by nobody else", dir);
	return 0;
}

int sock_dir(char *buf, size_t len, bool create, char *err, size_t errlen)
{
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	const char *own = getenv("SARDINE_RUNTIME_DIR"); /* tests, separate sets of VMs */
	int n;

	if (own && own[0] == '/')
		n = snprintf(buf, len, "%s", own);
	else if (geteuid() == 0)
		n = snprintf(buf, len, "/run/sardine");
	else if (xdg && xdg[0] == '/')
		n = snprintf(buf, len, "%s/sardine", xdg);
	else
		n = snprintf(buf, len, "/tmp/sardine-%u", (unsigned int)geteuid());
	if (n < 0 || (size_t)n >= len)
		return err_reason(err, errlen, -ENAMETOOLONG, "socket directory path too long");
	if (create && mkdir(buf, 0700) < 0 && errno != EEXIST)
		return err_reason(err, errlen, -errno, "cannot create %s: %s", buf, strerror(errno));
	return check_dir(buf, err, errlen);
}

int sock_path_for(const char *name, char *buf, size_t len, bool create_dir, char *err,
		  size_t errlen)
{
	char dir[256];
	int ret = sock_dir(dir, sizeof(dir), create_dir, err, errlen);
	int n;

	if (ret)
		return ret;
	n = snprintf(buf, len, "%s/%s.sock", dir, name);
	if (n < 0 || (size_t)n >= len || (size_t)n >= sizeof(((struct sockaddr_un *)0)->sun_path))
		return err_reason(err, errlen, -ENAMETOOLONG, "socket path %s/%s.sock too long", dir,
			      name);
	return 0;
}

int sock_console_path(const char *api_path, char *buf, size_t len)
{
	size_t n = strlen(api_path);
	int ret;

	if (n > 5 && strcmp(api_path + n - 5, ".sock") == 0)
		ret = snprintf(buf, len, "%.*s.console", (int)(n - 5), api_path);
	else
		ret = snprintf(buf, len, "%s.console", api_path);
	return ret < 0 || (size_t)ret >= len ? -ENAMETOOLONG : 0;
}

static int fill_addr(const char *path, struct sockaddr_un *sa)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa->sun_path))
		return -ENAMETOOLONG;
	strcpy(sa->sun_path, path);
	return 0;
}

int sock_connect(const char *path)
{
	struct sockaddr_un sa;
	int fd, ret = fill_addr(path, &sa);

	if (ret)
		return ret;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		ret = -errno;
		close(fd);
		return ret;
	}
	return fd;
}

/* Something is at path: a stale socket is removed, anything else stays. */
static int clear_path(const char *path, const struct stat *st, char *err, size_t errlen)
{
	int fd;

	if (S_ISLNK(st->st_mode))
		return err_reason(err, errlen, -EEXIST, "%s is a symbolic link; not following it", path);
	if (!S_ISSOCK(st->st_mode))
		return err_reason(err, errlen, -EEXIST, "%s exists and is not a socket", path);
	fd = sock_connect(path);
	if (fd >= 0) {
		close(fd);
		return err_reason(err, errlen, -EADDRINUSE,
			      "%s is in use: a running sardine answers on it", path);
	}
	if (fd != -ECONNREFUSED)
		return err_reason(err, errlen, fd, "%s: %s", path, strerror(-fd));
	/* Nobody listens: left behind by a VMM that was killed. */
	if (unlink(path) < 0 && errno != ENOENT)
		return err_reason(err, errlen, -errno, "cannot remove the stale socket %s: %s", path,
			      strerror(errno));
	return 0;
}

int sock_listen(const char *path, struct socket_id *id, char *err, size_t errlen)
{
	struct sockaddr_un sa;
	struct stat st;
	int fd, ret;

	if (fill_addr(path, &sa))
		return err_reason(err, errlen, -ENAMETOOLONG, "socket path %s is too long", path);
	if (lstat(path, &st) == 0) {
		ret = clear_path(path, &st, err, errlen);
		if (ret)
			return ret;
	} else if (errno != ENOENT) {
		return err_reason(err, errlen, -errno, "%s: %s", path, strerror(errno));
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return err_reason(err, errlen, -errno, "socket: %s", strerror(errno));
	/* bind() creates the node and fails on anything already there (a
	 * symlink planted since the check included): it never follows one. */
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		ret = err_reason(err, errlen, -errno, "cannot bind %s: %s", path, strerror(errno));
		goto err_fd;
	}
	/* Nobody can connect before listen(), so tightening the mode now
	 * leaves no window; AT_SYMLINK_NOFOLLOW refuses a swapped-in link. */
	if (fchmodat(AT_FDCWD, path, 0600, AT_SYMLINK_NOFOLLOW) < 0 || lstat(path, &st) < 0 ||
	    !S_ISSOCK(st.st_mode)) {
		ret = err_reason(err, errlen, -EPERM, "cannot make %s private: %s", path, strerror(errno));
		goto err_fd;
	}
	id->dev = st.st_dev;
	id->ino = st.st_ino;
	if (listen(fd, LISTEN_BACKLOG) < 0) {
		ret = err_reason(err, errlen, -errno, "listen on %s: %s", path, strerror(errno));
		sock_remove(path, id);
		goto err_fd;
	}
	return fd;

err_fd:
	close(fd);
	return ret;
}

void sock_remove(const char *path, const struct socket_id *id)
{
	struct stat st;

	if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode) && st.st_dev == id->dev &&
	    st.st_ino == id->ino)
		unlink(path);
}
