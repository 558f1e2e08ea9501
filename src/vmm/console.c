#define LOG_TAG "console"
#include "vmm/console.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "vmm/event_loop.h"
#include "vmm/log.h"

/* The terminal state to restore from a fatal signal handler.  A handler
 * cannot reach any struct, so this is process-wide by necessity: it belongs
 * to the process's controlling terminal, not to a VM. */
static struct termios saved_termios;
static int saved_termios_fd = -1;

static void restore_saved_termios(void)
{
	if (saved_termios_fd >= 0)
		tcsetattr(saved_termios_fd, TCSANOW, &saved_termios);
}

static void fatal_signal(int sig)
{
	restore_saved_termios();
	signal(sig, SIG_DFL);
	raise(sig);
}

static int enter_raw_mode(int fd)
{
	static const int fatal[] = { SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT, SIGQUIT };
	struct termios raw;

	if (tcgetattr(fd, &saved_termios) < 0)
		return -errno;
	raw = saved_termios;
	cfmakeraw(&raw);
	/* Keep output processing so sardine's own "\n" log lines render. */
	raw.c_oflag |= OPOST | ONLCR;
	saved_termios_fd = fd;
	atexit(restore_saved_termios);
	for (size_t i = 0; i < sizeof(fatal) / sizeof(fatal[0]); i++)
		signal(fatal[i], fatal_signal);
	if (tcsetattr(fd, TCSANOW, &raw) < 0)
		return -errno;
	return 0;
}

void console_restore(struct console *con)
{
	(void)con;
	restore_saved_termios();
}

/* Escape handling on terminals; returns the number of bytes kept in buf. */
static size_t filter_escape(struct console *con, uint8_t *buf, size_t len, bool *quit)
{
	size_t out = 0;

	for (size_t i = 0; i < len; i++) {
		uint8_t c = buf[i];

		if (con->escape_pending) {
			con->escape_pending = false;
			if (c == 'x' || c == 'X') {
				*quit = true;
				return out;
			}
			if (c != CONSOLE_ESCAPE_CHAR)
				buf[out++] = CONSOLE_ESCAPE_CHAR;
			buf[out++] = c;
		} else if (c == CONSOLE_ESCAPE_CHAR) {
			con->escape_pending = true;
		} else {
			buf[out++] = c;
		}
	}
	return out;
}

static void set_input_paused(struct console *con, bool paused)
{
	if (!con->in_registered || con->in_paused == paused)
		return;
	con->in_paused = paused;
	event_loop_mod(con->loop, con->in_fd, paused ? 0 : EPOLLIN);
}

/* Called with con->lock held. */
static void deliver_locked(struct console *con)
{
	size_t taken;

	if (!con->pending_len || !con->sink.receive)
		return;
	taken = con->sink.receive(con->sink.opaque, con->pending, con->pending_len);
	memmove(con->pending, con->pending + taken, con->pending_len - taken);
	con->pending_len -= taken;
}

static void on_stdin(void *opaque, uint32_t events)
{
	struct console *con = opaque;
	bool quit = false;
	ssize_t n;

	pthread_mutex_lock(&con->lock);
	n = read(con->in_fd, con->pending + con->pending_len,
		 sizeof(con->pending) - con->pending_len);
	if (n <= 0) {
		if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
			/* EOF on a pipe or file: the guest keeps running. */
			con->in_eof = true;
			event_loop_del(con->loop, con->in_fd);
			con->in_registered = false;
		}
		pthread_mutex_unlock(&con->lock);
		/* A socket console's peer hung up: wait for the next one. */
		if (con->in_eof && con->peer)
			console_detach(con);
		return;
	}
	if (con->in_tty)
		n = (ssize_t)filter_escape(con, con->pending + con->pending_len, (size_t)n, &quit);
	con->pending_len += (size_t)n;
	deliver_locked(con);
	set_input_paused(con, con->pending_len == sizeof(con->pending));
	pthread_mutex_unlock(&con->lock);
	if (quit && con->on_quit)
		con->on_quit(con->quit_opaque);
}

/* A regular file on stdin cannot be polled (it is always readable): read
 * it as fast as the sink takes it, one buffer per kick. */
static void fill_from_file_locked(struct console *con)
{
	while (con->in_file && !con->in_eof && con->sink.receive) {
		ssize_t n = read(con->in_fd, con->pending + con->pending_len,
				 sizeof(con->pending) - con->pending_len);

		if (n <= 0) {
			con->in_eof = true;
			break;
		}
		con->pending_len += (size_t)n;
		deliver_locked(con);
		if (con->pending_len == sizeof(con->pending))
			break; /* the sink is full: wait for its kick */
	}
}

static void on_kick(void *opaque, uint32_t events)
{
	struct console *con = opaque;
	uint64_t v;

	if (read(con->kick_fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		return;
	pthread_mutex_lock(&con->lock);
	deliver_locked(con);
	fill_from_file_locked(con);
	set_input_paused(con, con->pending_len == sizeof(con->pending));
	pthread_mutex_unlock(&con->lock);
}

int console_init(struct console *con, int in_fd, int out_fd, struct event_loop *loop)
{
	int ret;

	memset(con, 0, sizeof(*con));
	con->in_fd = in_fd;
	con->out_fd = out_fd;
	con->loop = loop;
	pthread_mutex_init(&con->lock, NULL);
	pthread_mutex_init(&con->out_lock, NULL);
	con->kick_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (con->kick_fd < 0)
		return -errno;
	ret = event_loop_add(loop, con->kick_fd, EPOLLIN, on_kick, con);
	if (ret)
		return ret;
	if (in_fd < 0)
		return 0;
	con->in_tty = isatty(in_fd);
	if (con->in_tty) {
		ret = enter_raw_mode(in_fd);
		if (ret)
			log_warn("cannot put the terminal in raw mode: %s", strerror(-ret));
	}
	/* epoll refuses regular files; those are read to the end at once. */
	ret = event_loop_add(loop, in_fd, EPOLLIN, on_stdin, con);
	if (ret == -EPERM) {
		con->in_file = true;
		return 0;
	}
	if (ret)
		return ret;
	con->in_registered = true;
	return 0;
}

void console_destroy(struct console *con)
{
	console_detach(con);
	if (con->in_registered)
		event_loop_del(con->loop, con->in_fd);
	if (con->kick_fd >= 0) {
		event_loop_del(con->loop, con->kick_fd);
		close(con->kick_fd);
	}
	if (con->in_tty) /* the terminal is the stdio console's to restore */
		console_restore(con);
	pthread_mutex_destroy(&con->lock);
	pthread_mutex_destroy(&con->out_lock);
}

void console_set_sink(struct console *con, const struct console_sink *sink)
{
	pthread_mutex_lock(&con->lock);
	if (sink)
		con->sink = *sink;
	else
		memset(&con->sink, 0, sizeof(con->sink));
	pthread_mutex_unlock(&con->lock);
	if (sink)
		console_kick(con);
}

void console_set_quit(struct console *con, void (*on_quit)(void *), void *opaque)
{
	con->on_quit = on_quit;
	con->quit_opaque = opaque;
}

/* To a socket console's peer: never blocks (the caller may be a vCPU);
 * what the peer is too slow to take is dropped. */
static void write_peer(struct console *con, const uint8_t *p, size_t len)
{
	pthread_mutex_lock(&con->out_lock);
	while (len && con->out_fd >= 0) {
		ssize_t n = send(con->out_fd, p, len, MSG_DONTWAIT | MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		p += n;
		len -= (size_t)n;
	}
	pthread_mutex_unlock(&con->out_lock);
}

void console_write(struct console *con, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	/* on_detach marks a socket console; it is set before the guest runs. */
	if (con->on_detach) {
		write_peer(con, p, len);
		return;
	}
	while (len) {
		ssize_t n = write(con->out_fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			/* EAGAIN on a non-blocking stdout, EPIPE on a closed
			 * reader: nothing more can be done for the bytes. */
			return;
		}
		p += n;
		len -= (size_t)n;
	}
}

void console_set_detach(struct console *con, void (*on_detach)(void *, int), void *opaque)
{
	con->on_detach = on_detach;
	con->detach_opaque = opaque;
}

int console_attach(struct console *con, int fd)
{
	int ret;

	pthread_mutex_lock(&con->lock);
	if (con->peer) {
		pthread_mutex_unlock(&con->lock);
		return -EBUSY;
	}
	con->in_fd = fd;
	con->in_eof = false;
	con->in_paused = false;
	con->escape_pending = false;
	ret = event_loop_add(con->loop, fd, EPOLLIN, on_stdin, con);
	if (ret) {
		con->in_fd = -1;
		pthread_mutex_unlock(&con->lock);
		return ret;
	}
	con->in_registered = true;
	con->peer = true;
	pthread_mutex_lock(&con->out_lock);
	con->out_fd = fd;
	pthread_mutex_unlock(&con->out_lock);
	pthread_mutex_unlock(&con->lock);
	return 0;
}

void console_detach(struct console *con)
{
	int fd;

	pthread_mutex_lock(&con->lock);
	if (!con->peer) {
		pthread_mutex_unlock(&con->lock);
		return;
	}
	fd = con->in_fd;
	if (con->in_registered)
		event_loop_del(con->loop, fd);
	con->in_registered = false;
	con->in_fd = -1;
	con->peer = false;
	con->pending_len = 0; /* typed by the peer that left */
	pthread_mutex_lock(&con->out_lock);
	con->out_fd = -1;
	pthread_mutex_unlock(&con->out_lock);
	pthread_mutex_unlock(&con->lock);
	con->on_detach(con->detach_opaque, fd);
}

void console_kick(struct console *con)
{
	uint64_t one = 1;

	if (write(con->kick_fd, &one, sizeof(one)) < 0)
		log_debug("kick: %s", strerror(errno));
}
