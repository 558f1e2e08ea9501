/* The HTTP side of the API: libmicrohttpd on sardine's Unix socket, run
 * by the control thread (no HTTP thread: a Landlock domain the control
 * thread enters binds the API as well).
 *
 * libmicrohttpd reads requests without blocking (with a connection limit,
 * an idle timeout, a header memory limit and a body limit); a complete one
 * is routed and parsed (api_route) and runs at once (exec), as every call
 * must on the control thread.  No request ever runs on a vCPU, and no
 * client can block another: a client that sends slowly only leaves its
 * connection waiting for more bytes. */
#ifndef SARDINE_API_SERVER_H
#define SARDINE_API_SERVER_H

#include "api/api.h"

struct api_server;

/* Runs one call on the control thread; fills resp. */
typedef void (*api_exec_fn)(void *opaque, struct api_call *call, struct api_response *resp);

/* Serves on listen_fd (taken over: closed by api_server_stop, also on
 * failure). */
int api_server_start(struct api_server **out, int listen_fd, api_exec_fn exec, void *opaque);
/* Readable when api_server_dispatch() has work: a client's bytes, a
 * timeout. */
int api_server_fd(const struct api_server *srv);
void api_server_dispatch(struct api_server *srv);
/* Takes no more connections (calls still arriving get 503), lets answers
 * already given go out (waiting at most a second), then stops. */
void api_server_stop(struct api_server *srv);

#endif
