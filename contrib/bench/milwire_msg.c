/*
 * milwire_msg: a message file as an MTA presents it to a milter (see
 * milwire.h for the rules: folded headers joined by LF, CRLF body).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "milwire.h"

static char *
dup_n(const unsigned char *s, size_t n)
{
	char *d = malloc(n + 1);

	if (d != NULL) {
		memcpy(d, s, n);
		d[n] = '\0';
	}
	return d;
}

/* Next line of d[*pos..n): its length without LF or CRLF; false at end. */
static bool
next_line(const unsigned char *d, size_t n, size_t *pos, size_t *start,
          size_t *len)
{
	const unsigned char *lf;

	if (*pos >= n)
		return false;
	*start = *pos;
	lf = memchr(d + *pos, '\n', n - *pos);
	*len = lf ? (size_t)(lf - (d + *pos)) : n - *pos;
	*pos += *len + (lf != NULL);
	if (lf != NULL && *len > 0 && d[*start + *len - 1] == '\r')
		(*len)--;
	return true;
}

/* Length of the header name if the line starts a header, else 0. */
static size_t
header_name(const unsigned char *l, size_t len, size_t *colon)
{
	size_t i = 0, name;

	while (i < len && l[i] > ' ' && l[i] < 0x7f && l[i] != ':')
		i++;
	name = i;
	while (i < len && (l[i] == ' ' || l[i] == '\t'))
		i++;
	if (name == 0 || i >= len || l[i] != ':')
		return 0;
	*colon = i;
	return name;
}

static int
add_header(struct milwire_msg *m, const unsigned char *l, size_t len,
           size_t name, size_t colon)
{
	struct milwire_header *h;

	h = realloc(m->hdr, (m->nhdr + 1) * sizeof(*m->hdr));
	if (h == NULL)
		return -1;
	m->hdr = h;
	h = &m->hdr[m->nhdr];
	h->name = dup_n(l, name);
	h->value = dup_n(l + colon + 1, len - colon - 1);
	if (h->name == NULL || h->value == NULL) {
		free(h->name);
		free(h->value);
		return -1;
	}
	m->nhdr++;
	return 0;
}

/* A folded line joins its header with LF, as Postfix sends it. */
static int
fold_header(struct milwire_header *h, const unsigned char *l, size_t len)
{
	size_t old = strlen(h->value);
	char *v = realloc(h->value, old + len + 2);

	if (v == NULL)
		return -1;
	v[old] = '\n';
	memcpy(v + old + 1, l, len);
	v[old + len + 1] = '\0';
	h->value = v;
	return 0;
}

/* Headers up to the empty line (or the first line that is no header). */
static int
parse_headers(const unsigned char *d, size_t n, struct milwire_msg *m,
              size_t *body)
{
	size_t pos = 0, start, len, name, colon;
	int r = 0;

	while (r == 0 && next_line(d, n, &pos, &start, &len)) {
		if (len == 0) {
			*body = pos;
			return 0;
		}
		if ((d[start] == ' ' || d[start] == '\t') && m->nhdr > 0)
			r = fold_header(&m->hdr[m->nhdr - 1], d + start, len);
		else if ((name = header_name(d + start, len, &colon)) > 0)
			r = add_header(m, d + start, len, name, colon);
		else {
			*body = start;
			return 0;
		}
	}
	*body = pos;
	return r;
}

/* The body from offset pos, every line ended with CRLF. */
static int
parse_body(const unsigned char *d, size_t n, size_t pos, struct milwire_msg *m)
{
	struct milwire_buf b = {0};
	size_t start, len;

	while (next_line(d, n, &pos, &start, &len))
		if (milwire_buf_add(&b, d + start, len) < 0 ||
		    milwire_buf_add(&b, "\r\n", 2) < 0) {
			milwire_buf_free(&b);
			return -1;
		}
	m->body = b.p;
	m->bodylen = b.len;
	return 0;
}

int
milwire_msg_parse(const unsigned char *d, size_t n, struct milwire_msg *m)
{
	size_t body = 0;

	memset(m, 0, sizeof(*m));
	if (parse_headers(d, n, m, &body) < 0 ||
	    parse_body(d, n, body, m) < 0) {
		milwire_msg_free(m);
		return -1;
	}
	return 0;
}

/* Read a whole file of at most max bytes into b. */
static int
read_file(const char *path, size_t max, struct milwire_buf *b, char *err,
          size_t errsz)
{
	FILE *f = fopen(path, "rb");
	unsigned char chunk[65536];
	size_t n;
	int bad = 0;

	if (f == NULL) {
		snprintf(err, errsz, "%s: %s", path, strerror(errno));
		return -1;
	}
	while (!bad && (n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		if (b->len + n > max || milwire_buf_add(b, chunk, n) < 0)
			bad = 1;
	if (ferror(f))
		bad = 1;
	fclose(f);
	if (bad)
		snprintf(err, errsz, "%s: cannot read (or larger than %zu)",
		         path, max);
	return bad ? -1 : 0;
}

int
milwire_msg_load(const char *path, size_t max, struct milwire_msg *m, char *err,
                 size_t errsz)
{
	struct milwire_buf b = {0};
	int r;

	memset(m, 0, sizeof(*m));
	if (read_file(path, max, &b, err, errsz) < 0) {
		milwire_buf_free(&b);
		return -1;
	}
	r = milwire_msg_parse(b.p, b.len, m);
	milwire_buf_free(&b);
	if (r < 0)
		snprintf(err, errsz, "%s: out of memory", path);
	return r;
}

void
milwire_msg_free(struct milwire_msg *m)
{
	size_t i;

	for (i = 0; i < m->nhdr; i++) {
		free(m->hdr[i].name);
		free(m->hdr[i].value);
	}
	free(m->hdr);
	free(m->body);
	memset(m, 0, sizeof(*m));
}
