/*
 * milwire: milter protocol bytes for the MTA side (see milwire.h).
 */
#include <sys/types.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <libmilter/mfdef.h>

#include "milwire.h"

int
milwire_buf_reserve(struct milwire_buf *b, size_t n)
{
	size_t need, cap;
	unsigned char *q;

	if (n > SIZE_MAX / 2 || b->len > SIZE_MAX / 2 - n)
		return -1;
	need = b->len + n;
	if (need > b->cap) {
		cap = need < 256 ? 256 : need * 2;
		q = realloc(b->p, cap);
		if (q == NULL)
			return -1;
		b->p = q;
		b->cap = cap;
	}
	return 0;
}

int
milwire_buf_add(struct milwire_buf *b, const void *p, size_t n)
{
	if (milwire_buf_reserve(b, n) < 0)
		return -1;
	if (n > 0)
		memcpy(b->p + b->len, p, n);
	b->len += n;
	return 0;
}

void
milwire_buf_free(struct milwire_buf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
}

static void
put_u32(unsigned char *c, uint32_t v)
{
	c[0] = v >> 24;
	c[1] = v >> 16;
	c[2] = v >> 8;
	c[3] = v;
}

static uint32_t
get_u32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

/* Start a packet: its length is patched by end_cmd(). */
static int
begin_cmd(struct milwire_buf *b, int cmd, size_t *start)
{
	unsigned char hdr[5] = {0, 0, 0, 0, (unsigned char)cmd};

	*start = b->len;
	return milwire_buf_add(b, hdr, sizeof(hdr));
}

static int
end_cmd(struct milwire_buf *b, size_t start)
{
	size_t n = b->len - start - 4;

	if (n > UINT32_MAX) {
		b->len = start;
		return -1;
	}
	put_u32(b->p + start, (uint32_t)n);
	return 0;
}

/* Append a string with its NUL, the protocol's string encoding. */
static int
add_str(struct milwire_buf *b, const char *s)
{
	return milwire_buf_add(b, s, strlen(s) + 1);
}

int
milwire_cmd(struct milwire_buf *b, int cmd, const void *data, size_t len)
{
	size_t start, old = b->len;

	if (begin_cmd(b, cmd, &start) < 0 ||
	    milwire_buf_add(b, data, len) < 0 || end_cmd(b, start) < 0) {
		b->len = old;
		return -1;
	}
	return 0;
}

int
milwire_optneg(struct milwire_buf *b, uint32_t actions, uint32_t steps)
{
	unsigned char d[12];

	put_u32(d, MILWIRE_VERSION);
	put_u32(d + 4, actions);
	put_u32(d + 8, steps);
	return milwire_cmd(b, SMFIC_OPTNEG, d, sizeof(d));
}

int
milwire_connect(struct milwire_buf *b, const char *host, const char *ip,
                unsigned port)
{
	unsigned char pb[2] = {(port >> 8) & 0xff, port & 0xff};
	char fam = SMFIA_UNKNOWN;
	size_t start, old = b->len;

	if (ip != NULL)
		fam = strchr(ip, ':') ? SMFIA_INET6 : SMFIA_INET;
	if (begin_cmd(b, SMFIC_CONNECT, &start) < 0 || add_str(b, host) < 0 ||
	    milwire_buf_add(b, &fam, 1) < 0 ||
	    (ip != NULL &&
	     (milwire_buf_add(b, pb, 2) < 0 || add_str(b, ip) < 0)) ||
	    end_cmd(b, start) < 0) {
		b->len = old;
		return -1;
	}
	return 0;
}

int
milwire_addr(struct milwire_buf *b, int cmd, const char *addr)
{
	size_t start, old = b->len;

	if (begin_cmd(b, cmd, &start) < 0 || milwire_buf_add(b, "<", 1) < 0 ||
	    milwire_buf_add(b, addr, strlen(addr)) < 0 ||
	    milwire_buf_add(b, ">", 2) < 0 || end_cmd(b, start) < 0) {
		b->len = old;
		return -1;
	}
	return 0;
}

int
milwire_macros(struct milwire_buf *b, int stage_cmd, const char *const *name,
               const size_t *nlen, const char *const *value, size_t n)
{
	unsigned char c = (unsigned char)stage_cmd;
	size_t start, old = b->len, i;

	if (begin_cmd(b, SMFIC_MACRO, &start) < 0 ||
	    milwire_buf_add(b, &c, 1) < 0)
		goto fail;
	for (i = 0; i < n; i++)
		if (milwire_buf_add(b, name[i], nlen[i]) < 0 ||
		    milwire_buf_add(b, "", 1) < 0 || add_str(b, value[i]) < 0)
			goto fail;
	if (end_cmd(b, start) == 0)
		return 0;
fail:
	b->len = old;
	return -1;
}

int
milwire_header(struct milwire_buf *b, const char *name, const char *value,
               uint32_t steps)
{
	size_t start, old = b->len;

	if (!(steps & SMFIP_HDR_LEADSPC) && *value == ' ')
		value++;
	if (begin_cmd(b, SMFIC_HEADER, &start) < 0 || add_str(b, name) < 0 ||
	    add_str(b, value) < 0 || end_cmd(b, start) < 0) {
		b->len = old;
		return -1;
	}
	return 0;
}

int
milwire_packet(const unsigned char *d, size_t n, int *cmd,
               const unsigned char **data, size_t *len, size_t *used)
{
	uint32_t plen;

	if (n < 5)
		return 0;
	plen = get_u32(d);
	if (plen < 1 || plen - 1 > MILWIRE_MAX_REPLY)
		return -1;
	if (n - 4 < plen)
		return 0;
	*cmd = d[4];
	*data = d + 5;
	*len = plen - 1;
	*used = (size_t)plen + 4;
	return 1;
}

const struct milwire_stage milwire_stages[MILWIRE_MSTAGES] = {
    {"connect", SMFIC_CONNECT, 0}, {"helo", SMFIC_HELO, 1},
    {"envfrom", SMFIC_MAIL, 2},    {"envrcpt", SMFIC_RCPT, 3},
    {"data", SMFIC_DATA, 4},       {"eom", SMFIC_BODYEOB, 6},
    {"eoh", SMFIC_EOH, 5},
};

bool
milwire_same_macro(const char *a, size_t alen, const char *b, size_t blen)
{
	if (alen >= 2 && a[0] == '{' && a[alen - 1] == '}') {
		a++;
		alen -= 2;
	}
	if (blen >= 2 && b[0] == '{' && b[blen - 1] == '}') {
		b++;
		blen -= 2;
	}
	return alen == blen && memcmp(a, b, alen) == 0;
}

enum milwire_verdict
milwire_verdict(int cmd)
{
	switch (cmd) {
	case SMFIR_CONTINUE:
		return MILWIRE_CONTINUE;
	case SMFIR_ACCEPT:
		return MILWIRE_ACCEPT;
	case SMFIR_REJECT:
		return MILWIRE_REJECT;
	case SMFIR_TEMPFAIL:
		return MILWIRE_TEMPFAIL;
	case SMFIR_DISCARD:
		return MILWIRE_DISCARD;
	case SMFIR_SKIP:
		return MILWIRE_SKIP;
	case SMFIR_REPLYCODE:
		return MILWIRE_REPLY;
	default:
		return MILWIRE_NONE;
	}
}

const char *
milwire_verdict_name(enum milwire_verdict v)
{
	static const char *const names[] = {
	    "none",     "continue", "accept", "reject",
	    "tempfail", "discard",  "skip",   "reply",
	};

	return (size_t)v < sizeof(names) / sizeof(names[0]) ? names[v] : "?";
}

bool
milwire_u32(struct milwire_cursor *c, uint32_t *v)
{
	if (c->left < 4)
		return false;
	*v = get_u32(c->p);
	c->p += 4;
	c->left -= 4;
	return true;
}

bool
milwire_str(struct milwire_cursor *c, const char **s, size_t *n)
{
	const unsigned char *nul = memchr(c->p, '\0', c->left);

	if (nul == NULL)
		return false;
	*s = (const char *)c->p;
	*n = (size_t)(nul - c->p);
	c->left -= *n + 1;
	c->p = nul + 1;
	return true;
}

int
milwire_escape(struct milwire_buf *b, const void *p, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *c = p;
	char e[4] = {'\\', 'x', 0, 0};
	size_t i, run = 0;
	int r = 0;

	for (i = 0; r == 0 && i < n; i++) {
		if (c[i] >= 0x20 && c[i] != 0x7f && c[i] != '\\') {
			run++;
			continue;
		}
		r = milwire_buf_add(b, c + i - run, run);
		run = 0;
		if (r < 0)
			break;
		if (c[i] == '\\' || c[i] == '\n' || c[i] == '\r' ||
		    c[i] == '\t') {
			e[1] = c[i] == '\\'   ? '\\'
			       : c[i] == '\n' ? 'n'
			       : c[i] == '\r' ? 'r'
			                      : 't';
			r = milwire_buf_add(b, e, 2);
			e[1] = 'x';
		} else {
			e[2] = hex[c[i] >> 4];
			e[3] = hex[c[i] & 15];
			r = milwire_buf_add(b, e, 4);
		}
	}
	if (r == 0)
		r = milwire_buf_add(b, c + n - run, run);
	return r;
}
