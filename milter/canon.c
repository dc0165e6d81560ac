/*
 * canon: DKIM canonicalization (RFC 6376 section 3.4).  See canon.h.
 *
 * The body canonicalizers pass runs of the caller's own input bytes to
 * the sink whenever the canonical form equals the input, so a chunk of
 * ordinary CRLF text reaches the digests in one call.  What the input
 * cannot show yet (line ends that may turn out to be trailing empty
 * lines, a WSP run that may end its line, a CR at the end of a chunk
 * that may start a CRLF) is held back as counts and flags, never as
 * bytes: memory stays constant whatever the body.
 */
#include "config.h"

#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "canon.h"

/*
 * Byte classes of the relaxed body scanner, as bits: STOP bytes always
 * need a look, an SP needs one only when the next byte is an ENDSP byte
 * (another WSP or a line end: the SP is not canonical as it stands).
 */
enum { B_STOP = 1, B_SP = 2, B_ENDSP = 4 };

static const unsigned char relaxed_class[256] = {
    ['\t'] = B_STOP | B_ENDSP,
    [' '] = B_SP | B_ENDSP,
    ['\r'] = B_STOP | B_ENDSP,
    ['\n'] = B_STOP | B_ENDSP,
};

/* Enough CRLFs to release many held empty lines per sink call. */
static const char crlfs[] = "\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n"
                            "\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n"
                            "\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n";

struct canon_body {
	enum canon c;
	canon_sink_fn *sink;
	void *arg;
	uint64_t nl; /* held line ends since the last data byte */
	bool wsp;    /* relaxed: held WSP run since the last data byte */
	bool cr;     /* the last chunk ended in a CR not yet known to be data */
	bool data;   /* some data byte was emitted (relaxed empty body) */
	bool final;  /* canon_body_final() was called */
};

/*
 * One chunk being scanned.  Input bytes [span, held) or [span, p) are
 * canonical as they stand and not yet emitted; when held is not NULL,
 * the bytes from held on stand for the held state (cb->nl, cb->wsp),
 * and verbatim says whether they are exactly what releasing that state
 * would emit (a run of CRLF pairs, then at most one SP), so that they
 * can stay part of the span.
 */
struct scan {
	const unsigned char *span;
	const unsigned char *held;
	bool verbatim;
};

int
canon_parse(const char *s, size_t len)
{
	if (len == 6 && strncasecmp(s, "simple", 6) == 0)
		return CANON_SIMPLE;
	if (len == 7 && strncasecmp(s, "relaxed", 7) == 0)
		return CANON_RELAXED;
	return -1;
}

const char *
canon_name(enum canon c)
{
	return c == CANON_RELAXED ? "relaxed" : "simple";
}

/* Hand n bytes to the sink; empty runs are not passed on. */
static void
emit(struct canon_body *cb, const void *p, size_t n)
{
	if (n > 0)
		cb->sink(cb->arg, p, n);
}

/* Emit the held line ends and WSP (they were followed by data). */
static void
emit_held(struct canon_body *cb)
{
	while (cb->nl > 0) {
		size_t n = sizeof(crlfs) - 1;

		if (cb->nl < n / 2)
			n = (size_t)cb->nl * 2;
		emit(cb, crlfs, n);
		cb->nl -= n / 2;
	}
	if (cb->wsp)
		emit(cb, " ", 1);
	cb->wsp = false;
}

/* Data starts at p: the held state is not trailing after all. */
static void
release(struct canon_body *cb, struct scan *sc, const unsigned char *p)
{
	cb->data = true;
	if (sc->held == NULL)
		return;
	if (sc->verbatim) {
		cb->nl = 0;
		cb->wsp = false;
	} else {
		emit(cb, sc->span, (size_t)(sc->held - sc->span));
		emit_held(cb);
		sc->span = p;
	}
	sc->held = NULL;
}

/* Start holding at p, unless something is held already. */
static void
hold(struct scan *sc, const unsigned char *p)
{
	if (sc->held == NULL) {
		sc->held = p;
		sc->verbatim = true;
	}
}

/*
 * A line end at p; same says whether its input bytes are its canonical
 * CRLF.  WSP held before it ends the line and is dropped (relaxed,
 * section 3.4.4 a).
 */
static void
line_end(struct canon_body *cb, struct scan *sc, const unsigned char *p,
         bool same)
{
	hold(sc, p);
	if (cb->wsp || !same)
		sc->verbatim = false;
	cb->wsp = false;
	cb->nl++;
}

/* A run of n WSP bytes at p (relaxed): held as one SP. */
static void
wsp_run(struct canon_body *cb, struct scan *sc, const unsigned char *p,
        size_t n)
{
	hold(sc, p);
	if (cb->wsp || n != 1 || *p != ' ')
		sc->verbatim = false;
	cb->wsp = true;
}

/*
 * Start a chunk: the held state from earlier chunks has no input bytes
 * here, so it is never verbatim.  A CR that ended the last chunk is
 * half a CRLF when this chunk starts with LF, and data otherwise.
 */
static const unsigned char *
chunk_start(struct canon_body *cb, struct scan *sc, const unsigned char *p)
{
	sc->span = p;
	sc->held = NULL;
	if (cb->nl > 0 || cb->wsp) {
		sc->held = p;
		sc->verbatim = false;
	}
	if (!cb->cr)
		return p;
	cb->cr = false;
	if (*p == '\n') {
		line_end(cb, sc, p, false);
		return p + 1;
	}
	release(cb, sc, p);
	emit(cb, "\r", 1);
	return p;
}

/* End a chunk at e: emit the span up to what is held, keep a final CR. */
static void
chunk_end(struct canon_body *cb, struct scan *sc, const unsigned char *e)
{
	const unsigned char *end = sc->held != NULL ? sc->held : e;

	if (cb->cr && sc->held == NULL)
		end = e - 1;
	emit(cb, sc->span, (size_t)(end - sc->span));
}

/* Simple (section 3.4.3): only line ends need a look; memchr finds them. */
static void
simple_update(struct canon_body *cb, const unsigned char *p,
              const unsigned char *e)
{
	struct scan sc;
	const unsigned char *q, *end;

	p = chunk_start(cb, &sc, p);
	while (p < e) {
		if ((q = memchr(p, '\n', (size_t)(e - p))) == NULL) {
			end = e;
			if (e[-1] == '\r') {
				cb->cr = true;
				end--;
			}
			if (end > p)
				release(cb, &sc, p);
			break;
		}
		if (q > p && q[-1] == '\r') {
			if (q - 1 > p)
				release(cb, &sc, p);
			line_end(cb, &sc, q - 1, true);
		} else {
			if (q > p)
				release(cb, &sc, p);
			line_end(cb, &sc, q, false);
		}
		p = q + 1;
	}
	chunk_end(cb, &sc, e);
}

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define ONES  0x0101010101010101ULL
#define HIGHS 0x8080808080808080ULL

/* 0x80 in every byte of w that equals c, 0 in the others (exact: no
 * carry crosses a byte). */
static inline uint64_t
byte_eq(uint64_t w, unsigned char c)
{
	uint64_t v = w ^ (ONES * c);

	return ~(((v & ~HIGHS) + ~HIGHS) | v) & HIGHS;
}

/*
 * plain_end() eight bytes at a time: stops at the first byte that needs
 * a look (see there), or where fewer than nine bytes are left.
 */
static const unsigned char *
plain_words(const unsigned char *p, const unsigned char *e)
{
	uint64_t w, sp, stop, next, hit;

	for (; e - p >= 9; p += 8) {
		memcpy(&w, p, 8);
		sp = byte_eq(w, ' ');
		stop = byte_eq(w, '\t') | byte_eq(w, '\r') | byte_eq(w, '\n');
		/* ENDSP of the byte after each byte: the next byte in w,
		 * for the last one p[8] */
		next = (sp | stop) >> 8 |
		       (uint64_t)(relaxed_class[p[8]] & B_ENDSP) << 61;
		if ((hit = stop | (sp & next)) != 0)
			return p + __builtin_ctzll(hit) / 8;
	}
	return p;
}
#else
static const unsigned char *
plain_words(const unsigned char *p, const unsigned char *e)
{
	(void)e;
	return p;
}
#endif

/*
 * The first byte at or after p that relaxed canonicalization changes or
 * must hold: data and single SPs between data are canonical as they
 * stand.  This is the hot loop of the daemon: eight bytes per step,
 * then per byte two table lookups and one rarely taken branch.  An SP
 * at the end of the chunk stops it (the next chunk decides).
 */
static const unsigned char *
plain_end(const unsigned char *p, const unsigned char *e)
{
	unsigned k0, k1;

	p = plain_words(p, e);
	if (p == e)
		return e;
	for (k0 = relaxed_class[*p]; p + 1 < e; p++, k0 = k1) {
		k1 = relaxed_class[p[1]];
		if ((k0 | ((k0 >> 1) & (k1 >> 2))) & 1)
			return p;
	}
	return (k0 & (B_STOP | B_SP)) ? p : e;
}

/* Length of the WSP run at p (before e). */
static size_t
wsp_len(const unsigned char *p, const unsigned char *e)
{
	const unsigned char *q = p + 1;

	while (q < e && (*q == ' ' || *q == '\t'))
		q++;
	return (size_t)(q - p);
}

/*
 * Relaxed (section 3.4.4).  A plain run never starts with WSP, so a WSP
 * run held from the last chunk is never emitted twice.
 */
static void
relaxed_update(struct canon_body *cb, const unsigned char *p,
               const unsigned char *e)
{
	struct scan sc;
	size_t n;

	p = chunk_start(cb, &sc, p);
	while (p < e) {
		switch (*p) {
		case ' ':
		case '\t':
			n = wsp_len(p, e);
			wsp_run(cb, &sc, p, n);
			p += n;
			break;
		case '\r':
			if (p + 1 == e) {
				cb->cr = true;
				p++;
			} else if (p[1] == '\n') {
				line_end(cb, &sc, p, true);
				p += 2;
			} else { /* a lone CR is data */
				release(cb, &sc, p);
				p++;
			}
			break;
		case '\n':
			line_end(cb, &sc, p, false);
			p++;
			break;
		default:
			release(cb, &sc, p);
			p = plain_end(p + 1, e);
			break;
		}
	}
	chunk_end(cb, &sc, e);
}

struct canon_body *
canon_body_new(enum canon c, canon_sink_fn *sink, void *arg)
{
	struct canon_body *cb = calloc(1, sizeof(*cb));

	if (cb == NULL)
		return NULL;
	cb->c = c;
	cb->sink = sink;
	cb->arg = arg;
	return cb;
}

void
canon_body_update(struct canon_body *cb, const unsigned char *p, size_t n)
{
	assert(!cb->final);
	if (n == 0)
		return;
	if (cb->c == CANON_RELAXED)
		relaxed_update(cb, p, p + n);
	else
		simple_update(cb, p, p + n);
}

/*
 * End of body.  Held empty lines are trailing: dropped.  A CR still
 * held is data (no LF followed it).  Then both algorithms end the last
 * line with one CRLF, whether or not it had one: section 3.4.3 ("*CRLF
 * at the end of the body to a single CRLF"; "If there is no body or no
 * trailing CRLF on the message body, a CRLF is added") and section
 * 3.4.4 b ("If the body is non-empty but does not end with a CRLF, a
 * CRLF is added").  Simple adds it to an empty body too; relaxed only
 * when some data byte was emitted: a body of empty or WSP-only lines is
 * empty after step a and b, and an empty body canonicalizes to nothing
 * (the section 3.4.4 hash of "null input", the erratum 1384 reading of
 * RFC 4871).  WSP held on a last line without CRLF is "whitespace at the
 * end of lines" (step a) and is dropped as well.
 */
void
canon_body_final(struct canon_body *cb)
{
	assert(!cb->final);
	cb->final = true;
	if (cb->cr) {
		cb->cr = false;
		cb->data = true;
		emit_held(cb);
		emit(cb, "\r", 1);
	}
	cb->nl = 0;
	cb->wsp = false;
	if (cb->c == CANON_SIMPLE || cb->data)
		emit(cb, "\r\n", 2);
}

void
canon_body_free(struct canon_body *cb)
{
	free(cb);
}

/*
 * One side of a relaxed header field (section 3.4.2): line breaks
 * removed (unfolding; a bare LF counts as one, a lone CR is data), WSP
 * runs as one SP, WSP at both ends dropped, optionally lower-cased.
 * Writes to d unless it is NULL; returns the length.
 */
static size_t
relaxed_part(const unsigned char *p, const unsigned char *e, bool lower,
             unsigned char *d)
{
	size_t n = 0;
	bool sp = false;

	for (; p < e; p++) {
		unsigned char ch = *p;

		if (ch == '\n' || (ch == '\r' && p + 1 < e && p[1] == '\n'))
			continue;
		if (ch == ' ' || ch == '\t') {
			sp = sp || n > 0;
			continue;
		}
		if (sp && d != NULL)
			d[n] = ' ';
		n += sp;
		sp = false;
		if (lower && ch >= 'A' && ch <= 'Z')
			ch = (unsigned char)(ch - 'A' + 'a');
		if (d != NULL)
			d[n] = ch;
		n++;
	}
	return n;
}

/* The relaxed field into d (or just its length when d is NULL). */
static size_t
relaxed_field(const unsigned char *raw, size_t len, bool crlf, unsigned char *d)
{
	const unsigned char *e = raw + len;
	const unsigned char *colon = len > 0 ? memchr(raw, ':', len) : NULL;
	size_t n;

	/* hdr.c never keeps a field without a colon; if one comes, it is
	 * all name. */
	n = relaxed_part(raw, colon != NULL ? colon : e, true, d);
	if (colon != NULL) {
		if (d != NULL)
			d[n] = ':';
		n++;
		n +=
		    relaxed_part(colon + 1, e, false, d != NULL ? d + n : NULL);
	}
	if (crlf) {
		if (d != NULL)
			memcpy(d + n, "\r\n", 2);
		n += 2;
	}
	return n;
}

static int
relaxed_header(const char *raw, size_t len, bool crlf, struct buf *out)
{
	const unsigned char *r = (const unsigned char *)raw;
	size_t n;
	int rc;

	/* The canonical form is never longer than the input and CRLF; when
	 * that much does not fit under the cap, reserve the exact size. */
	if (len > SIZE_MAX - 2 || buf_reserve(out, len + 2) != BUF_OK) {
		n = relaxed_field(r, len, crlf, NULL);
		if ((rc = buf_reserve(out, n)) != BUF_OK)
			return rc;
	}
	n = relaxed_field(r, len, crlf, (unsigned char *)out->data + out->len);
	out->len += n;
	out->data[out->len] = '\0';
	return BUF_OK;
}

int
canon_header(enum canon c, const char *raw, size_t len, bool crlf,
             struct buf *out)
{
	int rc;

	if (c == CANON_RELAXED)
		return relaxed_header(raw, len, crlf, out);
	/* Reserve both parts first: a refused append leaves out as it was. */
	if (len > SIZE_MAX - 2)
		return BUF_E2BIG;
	if ((rc = buf_reserve(out, len + (crlf ? 2 : 0))) != BUF_OK)
		return rc;
	rc = buf_append(out, raw, len);
	if (rc == BUF_OK && crlf)
		rc = buf_append(out, "\r\n", 2);
	return rc;
}
