/* Libraries opened on demand with dlopen(): a table of entry points filled
 * by name.  sardine loads libmicrohttpd only when an API client comes, and
 * libseccomp only while it compiles its filter, so neither stays in the
 * memory of every VM. */
#ifndef SARDINE_DL_H
#define SARDINE_DL_H

#include <stddef.h>

struct dl_symbol {
	const char *name;
	size_t offset; /* of the function pointer in the caller's table */
};

/* Opens soname and stores each symbol's address at its offset in table.
 * Returns the handle (for dlclose), or NULL with err saying why. */
void *dl_open_table(const char *soname, const struct dl_symbol *syms, size_t nr, void *table,
		    char *err, size_t errlen);

#endif
