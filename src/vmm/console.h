/* The stdio console backend: the guest's console on sardine's stdin/stdout.
 *
 * On a terminal, stdin goes to raw mode (restored on every exit path) and
 * Ctrl-A x quits, as in QEMU (Ctrl-A Ctrl-A sends a literal Ctrl-A).  On a
 * pipe or a file, bytes pass through untouched.  Input is delivered to a
 * sink (the UART or virtio-console) with back-pressure: when the sink is full
 * the console stops reading stdin until the sink calls console_kick().
 *
 * The same console serves a Unix socket (--console socket): initialised
 * with no descriptors, a peer is attached and detached at run time
 * (console_attach); its output never blocks the guest (what the peer does
 * not read is dropped) and its EOF detaches it. */
#ifndef SARDINE_CONSOLE_H
#define SARDINE_CONSOLE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <termios.h>

struct event_loop;

struct console_sink {
	/* Takes up to len bytes, returns how many it took; any thread. */
	size_t (*receive)(void *opaque, const uint8_t *buf, size_t len);
	void *opaque;
};

#define CONSOLE_ESCAPE_CHAR 0x01 /* Ctrl-A */

struct console {
	int in_fd;
	int out_fd;
	bool in_tty;
	bool in_registered;
	bool in_paused;
	bool in_eof;
	bool in_file; /* a regular file: read on demand, not polled */
	bool escape_pending;
	struct event_loop *loop;
	int kick_fd; /* eventfd: the sink has room again */
	pthread_mutex_t lock;
	struct console_sink sink;
	void (*on_quit)(void *opaque);
	void *quit_opaque;
	uint8_t pending[4096]; /* read from stdin, not yet taken by the sink */
	size_t pending_len;
	/* The socket console's peer (console_attach). */
	bool peer;
	pthread_mutex_t out_lock; /* out_fd against writers, while a peer swaps */
	void (*on_detach)(void *opaque, int fd);
	void *detach_opaque;
};

int console_init(struct console *con, int in_fd, int out_fd, struct event_loop *loop);
void console_destroy(struct console *con);
void console_set_sink(struct console *con, const struct console_sink *sink);
void console_set_quit(struct console *con, void (*on_quit)(void *), void *opaque);
/* Guest output; blocking, nothing is dropped. */
void console_write(struct console *con, const void *buf, size_t len);
/* The sink has room: deliver what is pending (from any thread). */
void console_kick(struct console *con);
/* Socket console: con was initialised with -1, -1 and given on_detach
 * before the guest runs.  The peer's fd is both input and output until it
 * hangs up; then on_detach(opaque, fd) runs on the console's loop and owns
 * fd.  console_attach() returns -EBUSY while a peer is attached. */
void console_set_detach(struct console *con, void (*on_detach)(void *, int), void *opaque);
int console_attach(struct console *con, int fd);
void console_detach(struct console *con);
/* Put the terminal back the way sardine found it. */
void console_restore(struct console *con);

#endif
