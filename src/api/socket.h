/* Where VMs' sockets live and how they are created safely.
 *
 * Every VM has a name and, unless told otherwise, an API socket
 * DIR/NAME.sock, DIR being /run/sardine for root, else
 * $XDG_RUNTIME_DIR/sardine, else /tmp/sardine-UID ($SARDINE_RUNTIME_DIR, an
 * absolute path, overrides them all).  `sardine list` scans DIR.
 * A console socket (--console socket) sits next to it: DIR/NAME.console.
 *
 * Creation never follows a symlink at the socket's path, never takes over a
 * socket a live VMM answers on (checked by connecting), and replaces a
 * stale one (nobody answers).  Sockets are mode 0600; DIR is 0700 and must
 * be ours. */
#ifndef SARDINE_API_SOCKET_H
#define SARDINE_API_SOCKET_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Identifies the socket we bound, so only it is removed at exit. */
struct socket_id {
	dev_t dev;
	ino_t ino;
};

/* DIR; create: make it when missing.  -errno with a reason in err. */
int sock_dir(char *buf, size_t len, bool create, char *err, size_t errlen);
/* DIR/NAME.sock. */
int sock_path_for(const char *name, char *buf, size_t len, bool create_dir, char *err,
		  size_t errlen);
/* The console socket next to an API socket: X.sock -> X.console. */
int sock_console_path(const char *api_path, char *buf, size_t len);

/* A listening socket at path (see above); fd, or -errno with a reason. */
int sock_listen(const char *path, struct socket_id *id, char *err, size_t errlen);
/* Unlinks path if it is still the socket sock_listen() made. */
void sock_remove(const char *path, const struct socket_id *id);
/* A connected client socket, or -errno (-ENOENT: no socket there,
 * -ECONNREFUSED: a stale socket nobody answers on). */
int sock_connect(const char *path);

#endif
