#include "api/mhd.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

/* The soname Debian's libmicrohttpd12 ships (the ABI microhttpd.h, which
 * we compile against, describes). */
#define MHD_SONAME "libmicrohttpd.so.12"

struct symbol {
	const char *name;
	size_t offset;
};

#define SYM(field) { "MHD_" #field, offsetof(struct mhd_lib, field) }
static const struct symbol symbols[] = {
	SYM(start_daemon), SYM(quiesce_daemon), SYM(stop_daemon),
	SYM(create_response_from_buffer), SYM(add_response_header),
	SYM(queue_response), SYM(destroy_response), SYM(suspend_connection),
	SYM(resume_connection), SYM(lookup_connection_value),
};

int mhd_load(struct mhd_lib *lib, char *err, size_t errlen)
{
	size_t i;

	memset(lib, 0, sizeof(*lib));
	lib->handle = dlopen(MHD_SONAME, RTLD_NOW | RTLD_LOCAL);
	if (!lib->handle) {
		snprintf(err, errlen, "cannot load %s: %s", MHD_SONAME, dlerror());
		return -ENOENT;
	}
	for (i = 0; i < sizeof(symbols) / sizeof(symbols[0]); i++) {
		void *fn = dlsym(lib->handle, symbols[i].name);

		if (!fn) {
			snprintf(err, errlen, "%s has no %s", MHD_SONAME, symbols[i].name);
			mhd_unload(lib);
			return -ENOENT;
		}
		/* POSIX guarantees a function pointer round-trips through void *. */
		memcpy((char *)lib + symbols[i].offset, &fn, sizeof(fn));
	}
	return 0;
}

void mhd_unload(struct mhd_lib *lib)
{
	if (lib->handle)
		dlclose(lib->handle);
	memset(lib, 0, sizeof(*lib));
}
