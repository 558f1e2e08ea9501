/* The HTTP side of the API: libmicrohttpd on sardine's Unix socket.
 *
 * libmicrohttpd's own thread reads requests (with a connection limit, an
 * idle timeout, a header memory limit and a body limit), routes and parses
 * them (api_route), then suspends the connection and queues the call.  The
 * control thread, woken through api_server_fd(), runs the queued calls
 * (api_server_dispatch -> exec) and resumes their connections with the
 * answer.  No request ever runs on a vCPU, and no client can block another:
 * nothing in the HTTP thread waits for the VM. */
#ifndef SARDINE_API_SERVER_H
#define SARDINE_API_SERVER_H

#include "api/api.h"

struct api_server;

/* Runs one call on the control thread; fills resp. */
typedef void (*api_exec_fn)(void *opaque, struct api_call *call, struct api_response *resp);

/* Serves on listen_fd (taken over: closed by api_server_stop, also on
 * failure). */
int api_server_start(struct api_server **out, int listen_fd, api_exec_fn exec, void *opaque);
/* Readable when calls wait for api_server_dispatch(). */
int api_server_fd(const struct api_server *srv);
void api_server_dispatch(struct api_server *srv);
/* Answers calls still queued with 503, lets answers already given go out
 * (waiting at most a second), then stops. */
void api_server_stop(struct api_server *srv);

#endif
