/* policy_pos: positions of values and keys in JSON text (see policy_pos.h). */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "policy_pos.h"

/* One member of an object or element of an array, as spans of the text. */
struct item {
	const char *key;  /* the key's opening quote; NULL in arrays */
	const char *kend; /* just past the key's closing quote */
	const char *val;  /* the value's first byte, or NULL */
	const char *vend; /* just past the value; NULL when it is cut off */
};

/* A walk over the items of one object or array. */
struct iter {
	const char *p, *end;
	bool object;
	bool done;
};

static const char *
skip_ws(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
		p++;
	return p;
}

/* Just past the closing quote of the string opening at p, or NULL. */
static const char *
skip_string(const char *p, const char *end)
{
	for (p++; p < end; p++) {
		if (*p == '"')
			return p + 1;
		if (*p == '\\' && ++p == end)
			break;
	}
	return NULL;
}

/* Just past the value starting at p, or NULL when it is cut off. */
static const char *
skip_value(const char *p, const char *end)
{
	size_t depth = 0;

	if (p < end && *p == '"')
		return skip_string(p, end);
	if (p < end && *p != '{' && *p != '[') {
		while (p < end && strchr(",:]} \t\r\n", *p) == NULL)
			p++;
		return p;
	}
	while (p < end) {
		char c = *p;

		if (c == '"') {
			if ((p = skip_string(p, end)) == NULL)
				return NULL;
			continue;
		}
		p++;
		if (c == '{' || c == '[')
			depth++;
		else if ((c == '}' || c == ']') && --depth == 0)
			return p;
	}
	return NULL;
}

/* Start a walk over the container at p; false if p opens none. */
static bool
iter_start(struct iter *it, const char *p, const char *end)
{
	if (p >= end || (*p != '{' && *p != '['))
		return false;
	it->object = *p == '{';
	it->p = skip_ws(p + 1, end);
	it->end = end;
	it->done = false;
	return true;
}

/* The next item; false at the container's end or where the text breaks. */
static bool
iter_next(struct iter *it, struct item *item)
{
	const char *p = it->p, *end = it->end;

	memset(item, 0, sizeof(*item));
	if (it->done || p >= end || *p == (it->object ? '}' : ']'))
		return false;
	it->done = true; /* unless a comma follows this item */
	if (it->object) {
		if (*p != '"' || (item->kend = skip_string(p, end)) == NULL)
			return false;
		item->key = p;
		p = skip_ws(item->kend, end);
		if (p >= end || *p != ':')
			return true;
		p = skip_ws(p + 1, end);
	}
	if (p >= end)
		return true;
	item->val = p;
	if ((item->vend = skip_value(p, end)) == NULL)
		return true;
	p = skip_ws(item->vend, end);
	if (p < end && *p == ',') {
		it->p = skip_ws(p + 1, end);
		it->done = false;
	}
	return true;
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* The value of the four hex digits at p, or -1. */
static long
hex4(const char *p, const char *end)
{
	long v = 0;

	if (end - p < 4)
		return -1;
	for (int i = 0; i < 4; i++) {
		int h = hexval(p[i]);

		if (h < 0)
			return -1;
		v = v * 16 + h;
	}
	return v;
}

/* Code point cp as UTF-8 in out; its length. */
static size_t
utf8_put(long cp, char out[4])
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xc0 | cp >> 6);
		out[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xe0 | cp >> 12);
		out[1] = (char)(0x80 | (cp >> 6 & 0x3f));
		out[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (char)(0xf0 | cp >> 18);
	out[1] = (char)(0x80 | (cp >> 12 & 0x3f));
	out[2] = (char)(0x80 | (cp >> 6 & 0x3f));
	out[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* The code point of the escape after the backslash at *pp; -1 if bad. */
static long
unescape(const char **pp, const char *end)
{
	const char *p = *pp + 1;
	long cp, lo;

	if (p >= end)
		return -1;
	*pp = p + 1;
	switch (*p) {
	case 'b':
		return '\b';
	case 'f':
		return '\f';
	case 'n':
		return '\n';
	case 'r':
		return '\r';
	case 't':
		return '\t';
	case 'u':
		break;
	default:
		return (unsigned char)*p;
	}
	if ((cp = hex4(p + 1, end)) < 0)
		return -1;
	*pp = p + 5;
	/* RFC 8259 section 7: a pair of surrogates is one character. */
	if (cp >= 0xd800 && cp <= 0xdbff && end - p > 6 && p[5] == '\\' &&
	    p[6] == 'u' && (lo = hex4(p + 7, end)) >= 0xdc00 && lo <= 0xdfff) {
		*pp = p + 11;
		cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
	}
	return cp;
}

/* Decode one character of a string body at *pp; 0 at the closing quote. */
static size_t
decode_char(const char **pp, const char *end, char out[4])
{
	const char *p = *pp;
	long cp;

	if (p >= end || *p == '"')
		return 0;
	if (*p != '\\') {
		out[0] = *p;
		*pp = p + 1;
		return 1;
	}
	if ((cp = unescape(pp, end)) < 0)
		return 0;
	return utf8_put(cp, out);
}

/* Whether the key token [key, kend) decodes to want. */
static bool
key_equals(const char *key, const char *kend, const char *want)
{
	const char *p = key + 1;
	size_t n, off = 0, wlen = strlen(want);
	char c[4];

	while ((n = decode_char(&p, kend, c)) > 0) {
		if (off + n > wlen || memcmp(want + off, c, n) != 0)
			return false;
		off += n;
	}
	return off == wlen && p + 1 == kend;
}

/* Append n bytes to buf if they fit; once one does not, nothing more is. */
static void
put(char *buf, size_t sz, size_t *len, const char *s, size_t n)
{
	if (*len < sz && n < sz - *len) {
		memcpy(buf + *len, s, n);
		*len += n;
		buf[*len] = '\0';
	} else
		*len = sz;
}

static void
put_key(char *buf, size_t sz, size_t *len, const struct item *item)
{
	const char *p = item->key + 1;
	size_t n;
	char c[4];

	while ((n = decode_char(&p, item->kend, c)) > 0)
		put(buf, sz, len, c, n);
}

/* The item of the container at p that a path step names. */
static bool
find_item(const char *p, const char *end, const struct pos_step *step,
          struct item *item)
{
	struct iter it;
	size_t i = 0;

	if (!iter_start(&it, p, end) || it.object != (step->key != NULL))
		return false;
	for (; iter_next(&it, item); i++)
		if (step->key != NULL
		        ? key_equals(item->key, item->kend, step->key)
		        : i == step->index)
			return true;
	return false;
}

int
policy_pos_find(const char *text, size_t len, const struct pos_step *path,
                size_t depth, bool key, struct pos *out)
{
	const char *end = text + len, *p = skip_ws(text, end);
	struct item item;

	if (key && (depth == 0 || path[depth - 1].key == NULL))
		return -1;
	for (size_t i = 0; i < depth; i++) {
		if (!find_item(p, end, &path[i], &item))
			return -1;
		p = key && i + 1 == depth ? item.key : item.val;
		if (p == NULL)
			return -1;
	}
	if (p >= end)
		return -1;
	policy_pos_offset(text, len, (size_t)(p - text), out);
	return 0;
}

void
policy_pos_offset(const char *text, size_t len, size_t off, struct pos *out)
{
	out->line = 1;
	out->column = 1;
	for (size_t i = 0; i < off && i < len; i++) {
		unsigned char c = (unsigned char)text[i];

		if (c == '\n') {
			out->line++;
			out->column = 1;
		} else if ((c & 0xc0) != 0x80) /* not a continuation byte */
			out->column++;
	}
}

/*
 * In the container at p: the item whose key ends at target (1), or the
 * item whose value holds target (0); -1 for neither.
 */
static int
item_at(const char *p, const char *end, const char *target, struct item *item,
        size_t *index)
{
	struct iter it;

	if (!iter_start(&it, p, end))
		return -1;
	for (*index = 0; iter_next(&it, item); (*index)++) {
		if (item->key != NULL && item->kend == target)
			return 1;
		if (item->val != NULL && item->val < target &&
		    (item->vend == NULL || item->vend > target))
			return 0;
	}
	return -1;
}

int
policy_pos_member(const char *text, size_t len, size_t end, char *path,
                  size_t pathsz, char *key, size_t keysz)
{
	const char *p = skip_ws(text, text + len);
	size_t plen = 0, klen = 0, index;
	struct item item;
	int r;

	if (pathsz == 0 || keysz == 0 || end > len)
		return -1;
	path[0] = key[0] = '\0';
	while ((r = item_at(p, text + len, text + end, &item, &index)) == 0) {
		if (item.key != NULL) {
			if (plen > 0)
				put(path, pathsz, &plen, ".", 1);
			put_key(path, pathsz, &plen, &item);
		} else {
			char ix[32];
			int n = snprintf(ix, sizeof(ix), "[%zu]", index);

			put(path, pathsz, &plen, ix, (size_t)n);
		}
		p = item.val;
	}
	if (r < 0)
		return -1;
	put_key(key, keysz, &klen, &item);
	return 0;
}
