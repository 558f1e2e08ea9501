/* libmicrohttpd, loaded on demand.
 *
 * Most VMs are never asked anything through their API socket, so sardine
 * does not link libmicrohttpd (and the TLS stack it pulls in): the server
 * opens it with dlopen() when the first client connects.  That keeps ~1.5
 * MiB of library pages and a dozen shared objects out of every VM's start
 * and memory.  The table holds the entry points server.c uses, typed from
 * microhttpd.h itself. */
#ifndef SARDINE_API_MHD_H
#define SARDINE_API_MHD_H

#include <stddef.h>

#include <microhttpd.h>

struct mhd_lib {
	void *handle;
	__typeof__(&MHD_start_daemon) start_daemon;
	__typeof__(&MHD_quiesce_daemon) quiesce_daemon;
	__typeof__(&MHD_stop_daemon) stop_daemon;
	__typeof__(&MHD_create_response_from_buffer) create_response_from_buffer;
	__typeof__(&MHD_add_response_header) add_response_header;
	__typeof__(&MHD_queue_response) queue_response;
	__typeof__(&MHD_destroy_response) destroy_response;
	__typeof__(&MHD_run) run;
	__typeof__(&MHD_get_timeout) get_timeout;
	__typeof__(&MHD_get_daemon_info) get_daemon_info;
	__typeof__(&MHD_lookup_connection_value) lookup_connection_value;
};

/* Opens the library and resolves the table; on failure says why in err. */
int mhd_load(struct mhd_lib *lib, char *err, size_t errlen);
void mhd_unload(struct mhd_lib *lib);

#endif
