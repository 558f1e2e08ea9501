#include "api/mhd.h"

#include <dlfcn.h>
#include <errno.h>
#include <string.h>

#include "vmm/dl.h"

/* The soname Debian's libmicrohttpd12 ships (the ABI microhttpd.h, which
 * we compile against, describes). */
#define MHD_SONAME "libmicrohttpd.so.12"

#define SYM(field) { "MHD_" #field, offsetof(struct mhd_lib, field) }
static const struct dl_symbol symbols[] = {
	SYM(start_daemon), SYM(quiesce_daemon), SYM(stop_daemon),
	SYM(create_response_from_buffer), SYM(add_response_header),
	SYM(queue_response), SYM(destroy_response), SYM(run), SYM(get_timeout),
	SYM(get_daemon_info), SYM(lookup_connection_value),
};

int mhd_load(struct mhd_lib *lib, char *err, size_t errlen)
{
	memset(lib, 0, sizeof(*lib));
	lib->handle = dl_open_table(MHD_SONAME, symbols, sizeof(symbols) / sizeof(symbols[0]), lib,
				    err, errlen);
	return lib->handle ? 0 : -ENOENT;
}

void mhd_unload(struct mhd_lib *lib)
{
	if (lib->handle)
		dlclose(lib->handle);
	memset(lib, 0, sizeof(*lib));
}
