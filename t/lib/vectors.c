/*
 * vectors: reading the test vector directories from the C unit tests.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vectors.h"

char *
tv_join(const char *a, const char *b)
{
	size_t n = strlen(a) + strlen(b) + 2;
	char *p = malloc(n);

	if (p == NULL)
		abort();
	snprintf(p, n, "%s/%s", a, b);
	return p;
}

char *
tv_slurp(const char *dir, const char *name, size_t *len)
{
	char *path = tv_join(dir, name), *p = NULL, *np;
	FILE *f = fopen(path, "rb");
	size_t n = 0, cap = 0, got;

	free(path);
	if (f == NULL)
		return NULL;
	do {
		if (n + 4096 + 1 > cap) {
			cap = cap ? cap * 2 : 8192;
			if ((np = realloc(p, cap)) == NULL)
				abort();
			p = np;
		}
		got = fread(p + n, 1, cap - n - 1, f);
		n += got;
	} while (got > 0);
	fclose(f);
	p[n] = '\0';
	if (len != NULL)
		*len = n;
	return p;
}

const char *
tv_srcdir(void)
{
	const char *s = getenv("T_SRCDIR");

	return s != NULL && *s != '\0' ? s : ".";
}

static int
cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Whether dir/name holds one of files. */
static int
is_case(const char *dir, const char *name, const char *const *files)
{
	char *cdir, *path;
	FILE *f;
	int yes = 0;

	if (name[0] == '.')
		return 0;
	cdir = tv_join(dir, name);
	for (; *files != NULL && !yes; files++) {
		path = tv_join(cdir, *files);
		if ((f = fopen(path, "rb")) != NULL) {
			yes = 1;
			fclose(f);
		}
		free(path);
	}
	free(cdir);
	return yes;
}

int
tv_list_cases(const char *dir, const char *const *files, char **names, int max)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	if (d == NULL)
		return -1;
	while ((e = readdir(d)) != NULL && n < max)
		if (is_case(dir, e->d_name, files) &&
		    (names[n] = strdup(e->d_name)) != NULL)
			n++;
	closedir(d);
	qsort(names, (size_t)n, sizeof(*names), cmp_names);
	return n;
}
