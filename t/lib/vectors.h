/*
 * vectors: reading the test vector directories (t/vectors/<kind>/<case>/)
 * from the C unit tests.
 */
#ifndef AUTHMILTER_T_VECTORS_H
#define AUTHMILTER_T_VECTORS_H

#include <stddef.h>

/* "a/b", malloc'd; aborts when out of memory. */
char *tv_join(const char *a, const char *b);

/* The whole file dir/name, malloc'd and NUL-terminated (its length in
 * *len when len is not NULL); NULL if it cannot be read. */
char *tv_slurp(const char *dir, const char *name, size_t *len);

/* The source tree: $T_SRCDIR, or "." */
const char *tv_srcdir(void);

/* The case directories under dir, sorted: those holding one of the files
 * named in files (NULL-terminated).  At most max names, malloc'd into
 * names; their count, or -1 when dir cannot be read. */
int tv_list_cases(const char *dir, const char *const *files, char **names,
                  int max);

#endif
