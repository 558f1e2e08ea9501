#include "vmm/dl.h"

#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

void *dl_open_table(const char *soname, const struct dl_symbol *syms, size_t nr, void *table,
		    char *err, size_t errlen)
{
	void *handle = dlopen(soname, RTLD_NOW | RTLD_LOCAL);

	if (!handle) {
		snprintf(err, errlen, "cannot load %s: %s", soname, dlerror());
		return NULL;
	}
	for (size_t i = 0; i < nr; i++) {
		void *fn = dlsym(handle, syms[i].name);

		if (!fn) {
			snprintf(err, errlen, "%s has no %s", soname, syms[i].name);
			dlclose(handle);
			return NULL;
		}
		/* POSIX guarantees a function pointer round-trips through void *. */
		memcpy((char *)table + syms[i].offset, &fn, sizeof(fn));
	}
	return handle;
}
