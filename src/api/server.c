#define LOG_TAG "api"
#include "api/server.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "api/mhd.h"
#include "vmm/log.h"

#define MAX_CONNECTIONS 128   /* more wait in the listen backlog */
#define IDLE_TIMEOUT_S 10     /* a client that stops talking is dropped */
#define HEADER_MEMORY (32 * 1024) /* request line + headers per connection */
#define STOP_WAIT_MS 1000
/* A body over API_MAX_BODY is read and thrown away up to this much more,
 * so that the client, still sending, gets its 413 rather than a reset
 * connection; past that the connection is answered and closed at once. */
#define DISCARD_MAX (8 << 20)

struct request {
	struct api_server *srv;
	struct MHD_Connection *conn;
	char *body;
	size_t len;
	bool answered; /* an early answer (413) is queued: ignore the rest */
	bool too_big;  /* the body is being thrown away: answer 413 at its end */
	size_t discarded;
	bool queued;   /* an answer is queued: counted in srv->unsent */
	struct api_call call;
	struct api_response resp;
};

struct api_server {
	struct mhd_lib mhd;
	struct MHD_Daemon *daemon; /* NULL until the first client comes */
	int listen_fd;
	int timer_fd;  /* when libmicrohttpd wants to run next (timeouts, work left) */
	int poll_fd;   /* epoll: listen_fd until the daemon runs, then its epoll and timer_fd */
	api_exec_fn exec;
	void *opaque;
	bool stopping;
	unsigned int unsent; /* answers queued and not yet sent */
};

static enum MHD_Result send_response(struct request *r)
{
	struct MHD_Response *mr;
	enum MHD_Result ret;
	const char *body = r->resp.body;
	size_t len = body ? strlen(body) : 0;

	mr = r->srv->mhd.create_response_from_buffer(len, (void *)(body ? body : ""), MHD_RESPMEM_MUST_COPY);
	if (!mr)
		return MHD_NO;
	if (body)
		r->srv->mhd.add_response_header(mr, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
	ret = r->srv->mhd.queue_response(r->conn, r->resp.status, mr);
	r->srv->mhd.destroy_response(mr);
	if (ret == MHD_YES && !r->queued) {
		r->queued = true;
		r->srv->unsent++;
	}
	return ret;
}

static enum MHD_Result send_error(struct request *r, unsigned int status, const char *msg)
{
	api_error(&r->resp, status, "%s", msg);
	return send_response(r);
}

/* The announced body length (libmicrohttpd has checked its syntax). */
static unsigned long long content_length(struct api_server *srv, struct MHD_Connection *conn)
{
	const char *cl = srv->mhd.lookup_connection_value(conn, MHD_HEADER_KIND,
							  MHD_HTTP_HEADER_CONTENT_LENGTH);

	return cl ? strtoull(cl, NULL, 10) : 0;
}

static enum MHD_Result append_body(struct request *r, const char *data, size_t *size)
{
	char *grown;

	if (r->too_big || *size > API_MAX_BODY - r->len) {
		r->too_big = true;
		r->discarded += *size;
		*size = 0;
		if (r->discarded <= DISCARD_MAX)
			return MHD_YES;
		r->answered = true;
		return send_error(r, 413, "request body too large");
	}
	grown = realloc(r->body, r->len + *size + 1);
	if (!grown)
		return MHD_NO;
	memcpy(grown + r->len, data, *size);
	r->body = grown;
	r->len += *size;
	r->body[r->len] = '\0';
	*size = 0;
	return MHD_YES;
}

/* Called by libmicrohttpd, on the control thread: once when the headers
 * are in, once per piece of body, once when the request is complete.  The
 * call runs then and there: the control thread is where every call runs. */
static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version,
				  const char *upload, size_t *upload_size, void **con_cls)
{
	struct api_server *srv = cls;
	struct request *r = *con_cls;

	if (!r) {
		r = calloc(1, sizeof(*r));
		if (!r)
			return MHD_NO;
		r->srv = srv;
		r->conn = conn;
		*con_cls = r;
		if (content_length(srv, conn) > API_MAX_BODY + (unsigned long long)DISCARD_MAX) {
			r->answered = true;
			return send_error(r, 413, "request body too large");
		}
		return MHD_YES;
	}
	if (r->answered) {
		*upload_size = 0;
		return MHD_YES;
	}
	if (*upload_size)
		return append_body(r, upload, upload_size);
	if (r->too_big)
		return send_error(r, 413, "request body too large");
	if (api_route(method, url, r->body, r->len, &r->call, &r->resp))
		return send_response(r);
	if (srv->stopping)
		return send_error(r, 503, "sardine is shutting down");
	srv->exec(srv->opaque, &r->call, &r->resp);
	return send_response(r);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct api_server *srv = cls;
	struct request *r = *con_cls;

	if (!r)
		return;
	if (r->queued)
		srv->unsent--;
	api_call_free(&r->call);
	api_response_free(&r->resp);
	free(r->body);
	free(r);
	*con_cls = NULL;
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[256];

	if (!log_enabled(LOG_DEBUG))
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	msg[strcspn(msg, "\n")] = '\0';
	log_debug("libmicrohttpd: %s", msg);
}

static int watch(int poll_fd, int fd)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = fd };

	return epoll_ctl(poll_fd, EPOLL_CTL_ADD, fd, &ev) ? -errno : 0;
}

/* Lets libmicrohttpd do what its sockets allow, then arms timer_fd for
 * when it wants to run again (an idle connection's timeout; at once where
 * it left work it could not finish, which its epoll fd will not show). */
static void run_daemon(struct api_server *srv)
{
	struct itimerspec next = { { 0, 0 }, { 0, 0 } };
	MHD_UNSIGNED_LONG_LONG ms;
	uint64_t expired;

	if (read(srv->timer_fd, &expired, sizeof(expired)) < 0 && errno != EAGAIN)
		log_debug("timer: %s", strerror(errno));
	srv->mhd.run(srv->daemon);
	if (srv->mhd.get_timeout(srv->daemon, &ms) == MHD_YES) {
		next.it_value.tv_sec = (time_t)(ms / 1000);
		next.it_value.tv_nsec = (long)(ms % 1000) * 1000000L;
		if (!ms)
			next.it_value.tv_nsec = 1; /* all zero would disarm */
	}
	timerfd_settime(srv->timer_fd, 0, &next, NULL);
}

/* Loads libmicrohttpd and hands it the listening socket: on the first
 * client, not before (see api/mhd.h).  It runs on the control thread
 * (external epoll mode): sardine has no HTTP thread, so a Landlock domain
 * the control thread enters binds the API too (vmm/landlock.h).  On
 * failure the socket is closed, so clients are refused at once rather
 * than left waiting. */
static void start_daemon(struct api_server *srv)
{
	const union MHD_DaemonInfo *info;
	char err[256];

	epoll_ctl(srv->poll_fd, EPOLL_CTL_DEL, srv->listen_fd, NULL);
	if (mhd_load(&srv->mhd, err, sizeof(err)) == 0) {
		srv->daemon = srv->mhd.start_daemon(
			MHD_USE_EPOLL | MHD_USE_ERROR_LOG, 0,
			NULL, NULL, on_request, srv,
			MHD_OPTION_EXTERNAL_LOGGER, mhd_log, srv,
			MHD_OPTION_LISTEN_SOCKET, (MHD_socket)srv->listen_fd,
			MHD_OPTION_CONNECTION_LIMIT, (unsigned int)MAX_CONNECTIONS,
			MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)IDLE_TIMEOUT_S,
			MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)HEADER_MEMORY,
			MHD_OPTION_NOTIFY_COMPLETED, on_completed, srv,
			MHD_OPTION_END);
		info = srv->daemon ? srv->mhd.get_daemon_info(srv->daemon, MHD_DAEMON_INFO_EPOLL_FD)
				   : NULL;
		if (info && watch(srv->poll_fd, info->epoll_fd) == 0) {
			run_daemon(srv); /* the client that woke us */
			return;
		}
		snprintf(err, sizeof(err), "libmicrohttpd did not start");
		if (srv->daemon) {
			srv->mhd.stop_daemon(srv->daemon); /* closes the socket */
			srv->daemon = NULL;
			srv->listen_fd = -1;
		}
		mhd_unload(&srv->mhd);
	}
	log_error("cannot serve the API: %s", err);
	if (srv->listen_fd >= 0)
		close(srv->listen_fd);
	srv->listen_fd = -1;
}

static void free_server(struct api_server *srv)
{
	if (srv->listen_fd >= 0)
		close(srv->listen_fd);
	if (srv->timer_fd >= 0)
		close(srv->timer_fd);
	if (srv->poll_fd >= 0)
		close(srv->poll_fd);
	free(srv);
}

int api_server_start(struct api_server **out, int listen_fd, api_exec_fn exec, void *opaque)
{
	struct api_server *srv = calloc(1, sizeof(*srv));
	int ret = 0;

	if (!srv) {
		close(listen_fd);
		return -ENOMEM;
	}
	srv->listen_fd = listen_fd;
	srv->exec = exec;
	srv->opaque = opaque;
	srv->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	srv->poll_fd = epoll_create1(EPOLL_CLOEXEC);
	if (srv->timer_fd < 0 || srv->poll_fd < 0)
		ret = -errno;
	if (!ret)
		ret = watch(srv->poll_fd, srv->timer_fd);
	if (!ret)
		ret = watch(srv->poll_fd, srv->listen_fd);
	if (ret) {
		free_server(srv);
		return ret;
	}
	*out = srv;
	return 0;
}

int api_server_fd(const struct api_server *srv)
{
	return srv->poll_fd;
}

void api_server_dispatch(struct api_server *srv)
{
	/* Until the daemon runs, a wakeup is the first client on the socket
	 * (closed, -1, if that start failed). */
	if (!srv->daemon) {
		if (srv->listen_fd >= 0)
			start_daemon(srv);
		return;
	}
	run_daemon(srv);
}

static long long now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

void api_server_stop(struct api_server *srv)
{
	struct epoll_event ev[2];
	long long deadline;

	if (!srv)
		return;
	if (!srv->daemon) {
		free_server(srv);
		return;
	}
	/* No new connections, and calls still arriving get 503; the answers
	 * given (vmm.shutdown's own) go out, for a second at most.  Quiescing
	 * hands the listening socket back: then it is ours to close;
	 * otherwise stopping the daemon closes it. */
	srv->stopping = true;
	if (srv->mhd.quiesce_daemon(srv->daemon) == MHD_INVALID_SOCKET)
		srv->listen_fd = -1;
	deadline = now_ms() + STOP_WAIT_MS;
	for (long long left = STOP_WAIT_MS; srv->unsent && left > 0; left = deadline - now_ms()) {
		epoll_wait(srv->poll_fd, ev, 2, (int)(left < 50 ? left : 50));
		run_daemon(srv);
	}
	srv->mhd.stop_daemon(srv->daemon);
	mhd_unload(&srv->mhd);
	free_server(srv);
}
