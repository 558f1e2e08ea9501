/* Scratch directories of the fuzz targets that make files (fuzz_9p,
 * fuzz_vpci): emptied between inputs, removed at exit. */
#ifndef SARDINE_FUZZ_SCRATCH_H
#define SARDINE_FUZZ_SCRATCH_H

#include <ftw.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

static int scratch_remove_entry(const char *path, const struct stat *sb, int flag,
				struct FTW *ftw)
{
	(void)sb, (void)flag;
	if (ftw->level > 0)
		remove(path);
	return 0;
}

/* Everything under dir goes; dir itself stays. */
static void scratch_empty(const char *dir)
{
	nftw(dir, scratch_remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* dir and everything under it go, whatever modes a fuzzer gave them (root
 * removes anyway). */
static void scratch_remove(const char *dir)
{
	chmod(dir, 0700);
	scratch_empty(dir);
	rmdir(dir);
}

#endif
