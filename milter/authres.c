/*
 * authres: build and read Authentication-Results field values (RFC 8601).
 *
 * Writing.  authres_format() appends exactly this, where FOLD is the
 * caller's line break ("\n\t" for the milter, "\r\n\t" on the wire):
 *
 *     " " ID "; none"                                   no results
 *     " " ID ";" FOLD RESINFO ";" FOLD ... ";" FOLD RESINFO
 *
 *     RESINFO = METHOD "=" RESULT [" (" COMMENT ")"] [" reason=" QUOTED]
 *               *(" " PTYPE "." PROPERTY "=" PVALUE)
 *
 * one RESINFO per line in the order of the set, no ";" after the last.
 * ID is written bare when it is an RFC 2045 token and as a quoted-string
 * otherwise.  A PVALUE is bare when it is a token or a
 * [[local-part] "@"] domain-name (RFC 8601 section 2.2, with a dot-atom
 * local-part), otherwise a quoted-string.  QUOTED is always a
 * quoted-string.  Quoted-strings escape '"' and '\' with a backslash;
 * COMMENT escapes '(', ')' and '\'.  Control characters (CR, LF, HTAB and
 * the rest) are dropped from quoted-strings and comments so no text can
 * break the line or the syntax; bytes >= 0x80 pass (RFC 6532).  On a
 * buffer error the output is truncated back to where it started.
 *
 * Reading.  The tokenizer follows RFC 5322 section 3.2: CFWS is any mix
 * of SP, HTAB, CR, LF (CRLF or bare LF folding) and comments, which nest
 * (at most COMMENT_MAX_DEPTH deep) and hold quoted-pairs; quoted-strings
 * hold quoted-pairs and lose their line breaks (unfolding).  Keywords
 * (method, result, ptype, property) are letters, digits, '-' and '_', and
 * are lower-cased.  Values are a quoted-string (unquoted), a quoted
 * local-part followed by "@domain" (kept as written, quotes included), or
 * a run of printable bytes up to CFWS, ';', '(' or '"' (so addresses,
 * IPv6 literals and base64 fragments parse unquoted, as they are found
 * in real mail).  The parser is liberal where real headers are: empty
 * resinfos (";;") and a trailing ';' are skipped, "id;" alone is valid
 * with no results, a bare "key=value" without a ptype (such as
 * "action=none") is skipped, a second reason= is ignored.  It fails on a
 * missing authserv-id, a missing ';' after it, junk where the version
 * goes, a resinfo without "=" or without a result, a method version
 * without digits, a stray word in a resinfo, anything after "none", an
 * unterminated quoted-string or comment, too deep nesting, too many
 * resinfos or properties, an embedded NUL, or out of memory.
 *
 * authres_read_id() reads only [CFWS] value and never looks further: the
 * removal of section 5 must err towards removing.  authres_is_ours()
 * also matches when the text before the first ';' spells our id once
 * comments, whitespace and quotes are taken out ("mx.example(x).net"), in
 * case a downstream reader is laxer than we are.
 *
 * Ownership: strings in struct authres_parsed are malloc'd by
 * authres_parse() and freed by authres_parsed_free().  No globals.
 */
#include "config.h"

#include <assert.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ascii.h"
#include "authres.h"

/* Real comments nest once or twice; deeper is an attack on the parser. */
#define COMMENT_MAX_DEPTH 32
/* RFC 8601 is version 1; nine digits still fit an unsigned. */
#define VERSION_MAX_DIGITS 9

/* A cursor over the input; never moves past end. */
struct lex {
	const char *p;
	const char *end;
};

/* Where characters of a value go: bounded storage, or a comparison. */
struct sink {
	char *s;          /* storage (cap bytes), or NULL when comparing */
	size_t cap;       /* bytes s can take */
	size_t len;       /* bytes stored, or bytes of want matched */
	const char *want; /* when comparing: the expected text */
	bool differs;     /* when comparing: a byte did not match */
};

/* Whitespace inside CFWS: WSP plus the CR and LF of folding. */
static bool
is_fws(int c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* RFC 2045 token character. */
static bool
is_token_char(int c)
{
	return c > 0x20 && c < 0x7f && strchr("()<>@,;:\\\"/[]?=", c) == NULL;
}

/* An authserv-id character: a token character or UTF-8 (U-labels). */
static bool
is_id_char(int c)
{
	return is_token_char(c) || c >= 0x80;
}

/* RFC 5321 Keyword, with '_' as found in the wild. */
static bool
is_keyword_char(int c)
{
	return ascii_is_alnum(c) || c == '-' || c == '_';
}

/* A byte of an unquoted value: printable, not a delimiter. */
static bool
is_value_char(int c)
{
	return c > 0x20 && c != 0x7f && strchr(";()\"\\", c) == NULL;
}

/* RFC 5322 atext. */
static bool
is_atext(int c)
{
	return ascii_is_alnum(c) ||
	       (c != 0 && strchr("!#$%&'*+-/=?^_`{|}~", c));
}

static bool
is_ctl(int c)
{
	return c < 0x20 || c == 0x7f;
}

/* Whether p[0..n) is word, ignoring ASCII case. */
static bool
span_is(const char *p, size_t n, const char *word)
{
	size_t i;

	for (i = 0; i < n && word[i] != '\0'; i++)
		if (ascii_lower((unsigned char)p[i]) != word[i])
			return false;
	return i == n && word[i] == '\0';
}

/* The next byte, or -1 at the end. */
static int
peek(const struct lex *lx)
{
	return lx->p < lx->end ? (unsigned char)*lx->p : -1;
}

/* Skip a run of bytes in class; the number skipped. */
static size_t
skip_run(struct lex *lx, bool (*class)(int))
{
	const char *start = lx->p;

	while (lx->p < lx->end && class((unsigned char)*lx->p))
		lx->p++;
	return (size_t)(lx->p - start);
}

/* Add one byte to k; -1 when storage is full. */
static int
sink_put(struct sink *k, int c)
{
	if (k->want != NULL) {
		if (k->differs || k->want[k->len] == '\0' ||
		    ascii_lower(c) !=
		        ascii_lower((unsigned char)k->want[k->len]))
			k->differs = true;
		else
			k->len++;
		return 0;
	}
	if (k->len == k->cap)
		return -1;
	k->s[k->len++] = (char)c;
	return 0;
}

/* Whether a comparing sink saw exactly its (non-empty) text. */
static bool
sink_matched(const struct sink *k)
{
	return !k->differs && k->len > 0 && k->want[k->len] == '\0';
}

/* Skip one comment (at '('), nested ones and quoted-pairs included. */
static int
skip_comment(struct lex *lx)
{
	int depth = 0;

	while (lx->p < lx->end) {
		int c = (unsigned char)*lx->p++;

		if (c == '\\') {
			if (lx->p == lx->end)
				return -1;
			lx->p++;
		} else if (c == '(') {
			if (++depth > COMMENT_MAX_DEPTH)
				return -1;
		} else if (c == ')' && --depth == 0)
			return 0;
	}
	return -1;
}

/* Skip CFWS (RFC 5322 section 3.2.2); -1 on a bad comment. */
static int
skip_cfws(struct lex *lx)
{
	while (lx->p < lx->end) {
		if (is_fws((unsigned char)*lx->p))
			lx->p++;
		else if (*lx->p != '(')
			break;
		else if (skip_comment(lx) < 0)
			return -1;
	}
	return 0;
}

/* Read a quoted-string (at '"') into k, unquoted and unfolded. */
static int
read_quoted(struct lex *lx, struct sink *k)
{
	lx->p++;
	while (lx->p < lx->end) {
		int c = (unsigned char)*lx->p++;

		if (c == '"')
			return 0;
		if (c == '\\') {
			if (lx->p == lx->end)
				return -1;
			c = (unsigned char)*lx->p++;
		} else if (c == '\r' || c == '\n')
			continue;
		if (c == '\0' || sink_put(k, c) < 0)
			return -1;
	}
	return -1;
}

/* Read [CFWS] authserv-id into k; -1 when there is none. */
static int
read_id_value(struct lex *lx, struct sink *k)
{
	if (skip_cfws(lx) < 0)
		return -1;
	if (peek(lx) == '"') {
		if (read_quoted(lx, k) < 0)
			return -1;
	} else {
		while (lx->p < lx->end && is_id_char((unsigned char)*lx->p))
			if (sink_put(k, (unsigned char)*lx->p++) < 0)
				return -1;
	}
	return k->len > 0 || k->differs ? 0 : -1;
}

/* A malloc'd copy of n bytes, lower-cased if asked; NULL if out of memory. */
static char *
dup_span(const char *p, size_t n, bool fold)
{
	char *s = malloc(n + 1);

	if (s == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++)
		s[i] = fold ? (char)ascii_lower((unsigned char)p[i]) : p[i];
	s[n] = '\0';
	return s;
}

/* Parse state: the cursor and a scratch area as long as the input. */
struct parser {
	struct lex lx;
	struct sink scratch;
};

/* Read a keyword, lower-cased and malloc'd; NULL if there is none. */
static char *
read_keyword(struct lex *lx)
{
	const char *start = lx->p;
	size_t n = skip_run(lx, is_keyword_char);

	return n > 0 ? dup_span(start, n, true) : NULL;
}

/* Read a quoted pvalue; a quoted local-part with "@domain" stays as written. */
static int
read_quoted_value(struct parser *ps, char **dst)
{
	struct lex *lx = &ps->lx;
	const char *start = lx->p;

	ps->scratch.len = 0;
	if (read_quoted(lx, &ps->scratch) < 0)
		return -1;
	if (peek(lx) == '@') {
		lx->p++;
		skip_run(lx, is_value_char);
		*dst = dup_span(start, (size_t)(lx->p - start), false);
	} else
		*dst = dup_span(ps->scratch.s, ps->scratch.len, false);
	return *dst != NULL ? 0 : -1;
}

/* Read [CFWS] pvalue (RFC 8601 section 2.2) into a malloc'd string. */
static int
read_pvalue(struct parser *ps, char **dst)
{
	struct lex *lx = &ps->lx;
	const char *start;
	size_t n;

	if (skip_cfws(lx) < 0)
		return -1;
	if (peek(lx) == '"')
		return read_quoted_value(ps, dst);
	start = lx->p;
	n = skip_run(lx, is_value_char);
	*dst = dup_span(start, n, false);
	return *dst != NULL ? 0 : -1;
}

/* authserv-id, then an optional version (RFC 8601 section 2.2). */
static int
parse_id(struct parser *ps, struct authres_parsed *out)
{
	struct lex *lx = &ps->lx;
	const char *start;
	size_t n;

	ps->scratch.len = 0;
	if (read_id_value(lx, &ps->scratch) < 0)
		return -1;
	out->authserv_id = dup_span(ps->scratch.s, ps->scratch.len, false);
	if (out->authserv_id == NULL || skip_cfws(lx) < 0)
		return -1;
	start = lx->p;
	if ((n = skip_run(lx, ascii_is_digit)) == 0)
		return 0;
	if (n > VERSION_MAX_DIGITS)
		return -1;
	out->version = 0;
	for (size_t i = 0; i < n; i++)
		out->version = out->version * 10 + (unsigned)(start[i] - '0');
	return skip_cfws(lx);
}

/* method [/ version] = result (RFC 8601 section 2.2 methodspec). */
static int
parse_methodspec(struct lex *lx, struct authres_resinfo *ri)
{
	if ((ri->method = read_keyword(lx)) == NULL || skip_cfws(lx) < 0)
		return -1;
	if (peek(lx) == '/') {
		lx->p++;
		if (skip_cfws(lx) < 0 || skip_run(lx, ascii_is_digit) == 0 ||
		    skip_cfws(lx) < 0)
			return -1;
	}
	if (peek(lx) != '=')
		return -1;
	lx->p++;
	if (skip_cfws(lx) < 0 || (ri->result = read_keyword(lx)) == NULL)
		return -1;
	return 0;
}

/* The rest of a propspec, after ptype (given) and at the '.'. */
static int
parse_prop(struct parser *ps, struct authres_resinfo *ri, const char *ptype,
           size_t ptlen)
{
	struct lex *lx = &ps->lx;
	struct authres_prop *pr;

	if (ri->nprops == AUTHRES_MAX_PROPS)
		return -1;
	pr = &ri->props[ri->nprops++];
	if ((pr->ptype = dup_span(ptype, ptlen, true)) == NULL)
		return -1;
	lx->p++;
	if (skip_cfws(lx) < 0 || (pr->property = read_keyword(lx)) == NULL ||
	    skip_cfws(lx) < 0 || peek(lx) != '=')
		return -1;
	lx->p++;
	return read_pvalue(ps, &pr->value);
}

/* key=value without a ptype: the reason, or skipped (a repeated reason,
 * or extensions such as "action=none"). */
static int
parse_keyvalue(struct parser *ps, struct authres_resinfo *ri, const char *key,
               size_t keylen)
{
	char *v;

	ps->lx.p++;
	if (read_pvalue(ps, &v) < 0)
		return -1;
	if (span_is(key, keylen, "reason") && ri->reason == NULL)
		ri->reason = v;
	else
		free(v);
	return 0;
}

/* One item after the methodspec: reasonspec, propspec or key=value. */
static int
parse_item(struct parser *ps, struct authres_resinfo *ri)
{
	struct lex *lx = &ps->lx;
	const char *key = lx->p;
	size_t keylen = skip_run(lx, is_keyword_char);

	if (keylen == 0 || skip_cfws(lx) < 0)
		return -1;
	if (peek(lx) == '.')
		return parse_prop(ps, ri, key, keylen);
	if (peek(lx) == '=')
		return parse_keyvalue(ps, ri, key, keylen);
	return -1;
}

/* One resinfo, up to (not including) the next ';' or the end. */
static int
parse_resinfo(struct parser *ps, struct authres_parsed *out)
{
	struct authres_resinfo *ri;

	if (out->nresinfo == AUTHRES_MAX_RESINFO)
		return -1;
	ri = &out->resinfo[out->nresinfo++];
	if (parse_methodspec(&ps->lx, ri) < 0)
		return -1;
	for (;;) {
		if (skip_cfws(&ps->lx) < 0)
			return -1;
		if (peek(&ps->lx) == -1 || peek(&ps->lx) == ';')
			return 0;
		if (parse_item(ps, ri) < 0)
			return -1;
	}
}

/* Whether the next resinfo is the word "none" alone; consumes it if so. */
static bool
take_none(struct lex *lx)
{
	struct lex save = *lx;

	size_t n = skip_run(lx, is_keyword_char);

	if (span_is(save.p, n, "none") && skip_cfws(lx) == 0 &&
	    (peek(lx) == -1 || peek(lx) == ';'))
		return true;
	*lx = save;
	return false;
}

/* After "none" only CFWS and ';' may follow. */
static int
parse_after_none(struct lex *lx)
{
	while (lx->p < lx->end) {
		if (*lx->p == ';')
			lx->p++;
		else if (!is_fws((unsigned char)*lx->p) && *lx->p != '(')
			return -1;
		else if (skip_cfws(lx) < 0)
			return -1;
	}
	return 0;
}

/* ";" then "none" or resinfos, to the end of the value. */
static int
parse_results(struct parser *ps, struct authres_parsed *out)
{
	struct lex *lx = &ps->lx;

	if (peek(lx) != ';')
		return -1;
	lx->p++;
	for (;;) {
		if (skip_cfws(lx) < 0)
			return -1;
		if (peek(lx) == -1)
			return 0;
		if (peek(lx) == ';') {
			lx->p++;
			continue;
		}
		if (out->nresinfo == 0 && take_none(lx)) {
			out->none = true;
			return parse_after_none(lx);
		}
		if (parse_resinfo(ps, out) < 0)
			return -1;
	}
}

int
authres_parse(const char *value, size_t len, struct authres_parsed *out)
{
	struct parser ps;
	int rc;

	assert(value != NULL || len == 0);
	memset(out, 0, sizeof(*out));
	out->version = 1;
	if (len > 0 && memchr(value, '\0', len) != NULL)
		return -1;
	memset(&ps, 0, sizeof(ps));
	ps.lx.p = value;
	ps.lx.end = value + len;
	/* No unquoted value is longer than the input it came from. */
	ps.scratch.cap = len;
	if ((ps.scratch.s = malloc(len + 1)) == NULL)
		return -1;
	rc = parse_id(&ps, out) < 0 || parse_results(&ps, out) < 0 ? -1 : 0;
	free(ps.scratch.s);
	return rc;
}

void
authres_parsed_free(struct authres_parsed *p)
{
	if (p == NULL)
		return;
	for (size_t i = 0; i < p->nresinfo; i++) {
		struct authres_resinfo *ri = &p->resinfo[i];

		for (size_t j = 0; j < ri->nprops; j++) {
			free(ri->props[j].ptype);
			free(ri->props[j].property);
			free(ri->props[j].value);
		}
		free(ri->method);
		free(ri->result);
		free(ri->reason);
		memset(ri, 0, sizeof(*ri));
	}
	free(p->authserv_id);
	p->authserv_id = NULL;
	p->nresinfo = 0;
	p->none = false;
	p->version = 1;
}

int
authres_read_id(const char *value, size_t len, char *id, size_t idsz)
{
	struct lex lx = {value, value + len};
	struct sink k = {.s = id, .cap = idsz > 0 ? idsz - 1 : 0};

	assert(value != NULL || len == 0);
	if (idsz == 0)
		return -1;
	if (read_id_value(&lx, &k) < 0) {
		id[0] = '\0';
		return -1;
	}
	id[k.len] = '\0';
	return 0;
}

/* Whether the text before the first ';', without comments, whitespace
 * and quotes, spells want. */
static bool
loose_match(struct lex *lx, const char *want)
{
	struct sink k = {.want = want};

	while (skip_cfws(lx) == 0 && lx->p < lx->end && *lx->p != ';') {
		if (*lx->p != '"')
			sink_put(&k, (unsigned char)*lx->p++);
		else if (read_quoted(lx, &k) < 0)
			break;
	}
	return sink_matched(&k);
}

/* Whether our id occurs in value, ignoring ASCII case. */
static bool
contains_id(const char *value, size_t len, const char *id)
{
	size_t n = strlen(id);

	for (size_t i = 0; n > 0 && i + n <= len; i++)
		if (strncasecmp(value + i, id, n) == 0)
			return true;
	return false;
}

bool
authres_is_ours(const char *value, size_t len, const char *our_id)
{
	struct lex lx = {value, value + len};
	struct sink k = {.want = our_id};

	assert(our_id != NULL);
	assert(value != NULL || len == 0);
	if (read_id_value(&lx, &k) == 0)
		return sink_matched(&k) ||
		       (lx.p = value, loose_match(&lx, our_id));
	/* Unreadable (comments nested past the cap, an open quote...): a
	 * reader laxer than we are may still find our id in it, so a field
	 * that contains our id anywhere goes. */
	return contains_id(value, len, our_id);
}

/* ---- formatting ---- */

/* Whether s is a non-empty RFC 2045 token. */
static bool
is_token(const char *s)
{
	if (*s == '\0')
		return false;
	for (; *s != '\0'; s++)
		if (!is_token_char((unsigned char)*s))
			return false;
	return true;
}

/* Whether p[0..n) is an RFC 5322 dot-atom-text. */
static bool
is_dot_atom(const char *p, size_t n)
{
	if (n == 0 || p[0] == '.' || p[n - 1] == '.')
		return false;
	for (size_t i = 0; i < n; i++) {
		if (p[i] == '.' ? p[i + 1] == '.'
		                : !is_atext((unsigned char)p[i]))
			return false;
	}
	return true;
}

/* Whether s is an RFC 6376 section 3.5 domain-name (two labels or more,
 * each a letter or digit, then letters, digits and '-', not ending in '-'). */
static bool
is_domain_name(const char *s)
{
	size_t labels = 0, n = 0;

	for (;; s++) {
		if (*s == '.' || *s == '\0') {
			if (n == 0 || s[-1] == '-')
				return false;
			labels++;
			n = 0;
			if (*s == '\0')
				return labels >= 2;
		} else if (ascii_is_alnum((unsigned char)*s) ||
		           (*s == '-' && n > 0))
			n++;
		else
			return false;
	}
}

/* Whether s can stand bare as a pvalue: [[local-part] "@"] domain-name. */
static bool
is_bare_address(const char *s)
{
	const char *at = strchr(s, '@');

	if (at == NULL)
		return is_domain_name(s);
	if (at > s && !is_dot_atom(s, (size_t)(at - s)))
		return false;
	return is_domain_name(at + 1);
}

/* Append s as a quoted-string, dropping control characters. */
static int
put_quoted(struct buf *out, const char *s)
{
	int rc = buf_putc(out, '"');

	for (; rc == BUF_OK && *s != '\0'; s++) {
		int c = (unsigned char)*s;

		if (is_ctl(c))
			continue;
		if (c == '"' || c == '\\')
			rc = buf_putc(out, '\\');
		if (rc == BUF_OK)
			rc = buf_putc(out, c);
	}
	return rc == BUF_OK ? buf_putc(out, '"') : rc;
}

/* Append " (s)", escaping parentheses and backslashes. */
static int
put_comment(struct buf *out, const char *s)
{
	int rc = buf_puts(out, " (");

	for (; rc == BUF_OK && *s != '\0'; s++) {
		int c = (unsigned char)*s;

		if (is_ctl(c))
			continue;
		if (c == '(' || c == ')' || c == '\\')
			rc = buf_putc(out, '\\');
		if (rc == BUF_OK)
			rc = buf_putc(out, c);
	}
	return rc == BUF_OK ? buf_putc(out, ')') : rc;
}

/* Append a value bare when the grammar allows, quoted otherwise. */
static int
put_pvalue(struct buf *out, const char *s)
{
	if (is_token(s) || is_bare_address(s))
		return buf_puts(out, s);
	return put_quoted(out, s);
}

/* Append one resinfo: method=result, comment, reason, properties. */
static int
put_resinfo(struct buf *out, const struct result *r)
{
	int rc = buf_printf(out, "%s=%s", ar_method_name(r->method),
	                    ar_result_name(r->result));

	if (rc == BUF_OK && r->comment != NULL && *r->comment != '\0')
		rc = put_comment(out, r->comment);
	if (rc == BUF_OK && r->reason != NULL) {
		rc = buf_puts(out, " reason=");
		if (rc == BUF_OK)
			rc = put_quoted(out, r->reason);
	}
	for (size_t i = 0; rc == BUF_OK && i < r->nprops; i++) {
		const struct result_prop *p = &r->props[i];

		rc = buf_printf(out, " %s.%s=", p->ptype, p->property);
		if (rc == BUF_OK)
			rc = put_pvalue(out, p->value);
	}
	return rc;
}

/* The whole value; authres_format() undoes a partial one. */
static int
put_field(const char *authserv_id, const struct resultset *rs, const char *fold,
          struct buf *out)
{
	size_t n = resultset_count(rs);
	int rc = buf_putc(out, ' ');

	if (rc == BUF_OK)
		rc = is_token(authserv_id) ? buf_puts(out, authserv_id)
		                           : put_quoted(out, authserv_id);
	if (rc == BUF_OK && n == 0)
		rc = buf_puts(out, "; none");
	for (size_t i = 0; rc == BUF_OK && i < n; i++) {
		rc = buf_putc(out, ';');
		if (rc == BUF_OK)
			rc = buf_puts(out, fold);
		if (rc == BUF_OK)
			rc = put_resinfo(out, resultset_get(rs, i));
	}
	return rc;
}

int
authres_format(const char *authserv_id, const struct resultset *rs,
               const char *fold, struct buf *out)
{
	size_t mark = out->len;
	int rc;

	assert(authserv_id != NULL && rs != NULL && fold != NULL);
	if ((rc = put_field(authserv_id, rs, fold, out)) != BUF_OK)
		buf_truncate(out, mark);
	return rc;
}
