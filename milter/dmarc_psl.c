/*
 * dmarc_psl: the public suffix list (see dmarc_psl.h).
 *
 * The rules live in one string arena and an open-addressing hash table
 * keyed by the rule's domain; a key carries flags for the three kinds of
 * rule ("co.uk", "*.co.uk" and "!co.uk" share the key "co.uk").
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "dmarc_psl.h"
#include "dmarc_record.h"

enum { PSL_NORMAL = 1, PSL_WILD = 2, PSL_EXCEPT = 4 };

struct slot {
	uint32_t off; /* into names; 0 = empty (names starts with a NUL) */
	uint16_t len;
	uint8_t flags;
};

struct dmarc_psl {
	struct buf names;
	struct slot *slots;
	size_t cap; /* a power of two */
	size_t nkeys, nrules;
};

static uint32_t
hash(const char *s, size_t n)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 16777619u;
	return h;
}

/* The slot of key s[0..n), or the empty slot where it would go. */
static struct slot *
find(const struct dmarc_psl *psl, const char *s, size_t n)
{
	size_t i = hash(s, n) & (psl->cap - 1);

	for (;; i = (i + 1) & (psl->cap - 1)) {
		struct slot *sl = &psl->slots[i];

		if (sl->off == 0 ||
		    (sl->len == n &&
		     memcmp(psl->names.data + sl->off, s, n) == 0))
			return sl;
	}
}

/* Double the table; -1 when out of memory. */
static int
grow(struct dmarc_psl *psl)
{
	struct slot *old = psl->slots;
	size_t oldcap = psl->cap;

	psl->cap = oldcap ? oldcap * 2 : 1024;
	if ((psl->slots = calloc(psl->cap, sizeof(*psl->slots))) == NULL) {
		psl->slots = old;
		psl->cap = oldcap;
		return -1;
	}
	for (size_t i = 0; i < oldcap; i++)
		if (old[i].off != 0)
			*find(psl, psl->names.data + old[i].off, old[i].len) =
			    old[i];
	free(old);
	return 0;
}

/* Add flag to the key d (normalised); -1 when out of memory. */
static int
add_key(struct dmarc_psl *psl, const char *d, uint8_t flag)
{
	size_t n = strlen(d);
	struct slot *sl;

	if ((psl->nkeys + 1) * 2 > psl->cap && grow(psl) != 0)
		return -1;
	sl = find(psl, d, n);
	if (sl->off == 0) {
		sl->off = (uint32_t)psl->names.len;
		sl->len = (uint16_t)n;
		if (buf_append(&psl->names, d, n + 1) != BUF_OK) {
			sl->off = 0;
			return -1;
		}
		psl->nkeys++;
	}
	if (!(sl->flags & flag))
		psl->nrules++;
	sl->flags |= flag;
	return 0;
}

/* One rule r[0..n): "co.uk", "*.ck" or "!www.ck"; 0, -1 bad, -2 memory. */
static int
add_rule(struct dmarc_psl *psl, const char *r, size_t n)
{
	char text[DMARC_DOMAIN_MAX], d[DMARC_DOMAIN_MAX];
	uint8_t flag = PSL_NORMAL;

	if (n > 2 && r[0] == '*' && r[1] == '.') {
		flag = PSL_WILD;
		r += 2, n -= 2;
	} else if (n > 1 && r[0] == '!') {
		flag = PSL_EXCEPT;
		r++, n--;
	}
	if (n >= sizeof(text) || memchr(r, '*', n) != NULL ||
	    memchr(r, '!', n) != NULL)
		return -1;
	memcpy(text, r, n);
	text[n] = '\0';
	if (dmarc_record_domain(text, d) != 0 ||
	    (flag == PSL_EXCEPT && dmarc_record_labels(d) < 2))
		return -1;
	return add_key(psl, d, flag) == 0 ? 0 : -2;
}

/* The rule on one line (up to the first whitespace), or NULL. */
static const char *
line_rule(const char *p, const char *end, size_t *n)
{
	size_t i = 0;

	while (p + i < end && p[i] != ' ' && p[i] != '\t' && p[i] != '\r')
		i++;
	*n = i;
	if (i == 0 || (i >= 2 && p[0] == '/' && p[1] == '/'))
		return NULL;
	return p;
}

struct dmarc_psl *
dmarc_psl_parse(const char *name, const char *text, size_t len,
                struct errbuf *eb)
{
	struct dmarc_psl *psl = calloc(1, sizeof(*psl));
	const char *p = text, *end = text + len;
	unsigned line = 1;

	if (psl == NULL ||
	    (buf_init(&psl->names, 0), buf_putc(&psl->names, '\0')) != BUF_OK ||
	    grow(psl) != 0)
		goto nomem;
	for (; p < end; line++) {
		const char *nl = memchr(p, '\n', (size_t)(end - p)), *r;
		size_t n;
		int rc = 0;

		if (nl == NULL)
			nl = end;
		if ((r = line_rule(p, nl, &n)) != NULL &&
		    (rc = add_rule(psl, r, n)) == -1) {
			errbuf_set(eb,
			           "%s:%u: \"%.*s\" is not a public suffix "
			           "rule",
			           name, line, (int)(n > 80 ? 80 : n), r);
			dmarc_psl_free(psl);
			return NULL;
		}
		if (rc == -2)
			goto nomem;
		p = nl + 1;
	}
	if (psl->nrules == 0) {
		errbuf_set(eb, "%s: no public suffix rules", name);
		dmarc_psl_free(psl);
		return NULL;
	}
	return psl;
nomem:
	errbuf_set(eb, "%s: out of memory", name);
	dmarc_psl_free(psl);
	return NULL;
}

/* The whole file into a malloc'd buffer; NULL with eb set. */
static char *
read_all(const char *path, size_t *len, struct errbuf *eb)
{
	struct stat st;
	char *text = NULL;
	ssize_t got = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0 || fstat(fd, &st) != 0) {
		errbuf_set(eb, "%s: %s", path, strerror(errno));
	} else if (!S_ISREG(st.st_mode) || st.st_size > DMARC_PSL_MAX_BYTES) {
		errbuf_set(eb, "%s: not a regular file of at most %u bytes",
		           path, DMARC_PSL_MAX_BYTES);
	} else if ((text = malloc((size_t)st.st_size + 1)) == NULL) {
		errbuf_set(eb, "%s: out of memory", path);
	} else {
		size_t n = 0;

		while (n < (size_t)st.st_size &&
		       (got = read(fd, text + n, (size_t)st.st_size - n)) > 0)
			n += (size_t)got;
		if (got < 0) {
			errbuf_set(eb, "%s: %s", path, strerror(errno));
			free(text);
			text = NULL;
		}
		*len = n;
	}
	if (fd >= 0)
		close(fd);
	return text;
}

struct dmarc_psl *
dmarc_psl_load(const char *path, struct errbuf *eb)
{
	size_t len = 0;
	char *text = read_all(path, &len, eb);
	struct dmarc_psl *psl;

	if (text == NULL)
		return NULL;
	psl = dmarc_psl_parse(path, text, len, eb);
	free(text);
	return psl;
}

void
dmarc_psl_free(struct dmarc_psl *psl)
{
	if (psl == NULL)
		return;
	buf_free(&psl->names);
	free(psl->slots);
	free(psl);
}

size_t
dmarc_psl_count(const struct dmarc_psl *psl)
{
	return psl->nrules;
}

static uint8_t
flags_of(const struct dmarc_psl *psl, const char *d)
{
	const struct slot *sl = find(psl, d, strlen(d));

	return sl->off != 0 ? sl->flags : 0;
}

/* The number of labels of domain's public suffix. */
static size_t
suffix_labels(const struct dmarc_psl *psl, const char *domain)
{
	size_t n = dmarc_record_labels(domain), best = 1, exc = 0;

	for (size_t k = 1; k <= n; k++) {
		uint8_t f =
		    flags_of(psl, domain + dmarc_record_suffix(domain, k));

		if (f & PSL_EXCEPT)
			exc = k;
		if (f & PSL_NORMAL)
			best = k;
		if (k >= 2 && (flags_of(psl, domain + dmarc_record_suffix(
		                                          domain, k - 1)) &
		               PSL_WILD))
			best = k;
	}
	return exc > 0 ? exc - 1 : best;
}

size_t
dmarc_psl_suffix(const struct dmarc_psl *psl, const char *domain)
{
	if (*domain == '\0')
		return 0;
	return dmarc_record_suffix(domain, suffix_labels(psl, domain));
}

size_t
dmarc_psl_org(const struct dmarc_psl *psl, const char *domain)
{
	size_t n = dmarc_record_labels(domain), k;

	if (n == 0)
		return 0;
	k = suffix_labels(psl, domain);
	return k < n ? dmarc_record_suffix(domain, k + 1) : 0;
}
