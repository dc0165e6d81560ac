/*
 * Unit tests for ARC (RFC 8617) without DNS: the chain structure checks
 * of arc_set.c (section 5.2 steps 1-3, caps), the AAR instance parser,
 * the ARC-Seal hash input (section 5.1.1), and arc_seal.c sealing a
 * message hop after hop with a test key, each new set verified offline
 * with the signature engine (the AS over sets 1..i, the AMS and its body
 * hash), a failed chain sealed over the new set only (section 5.1.2),
 * and the layout of the values.  arc_verify.c runs against a DNS server
 * that never answers: its result records for none, a broken structure
 * and keys that cannot be had (section 5.2.1: fail, but no sealing on
 * our own DNS trouble).  The structure of every case of
 * t/vectors/arc is checked against its "structure" file; the full
 * verification of those vectors (keys through DNS) is t/conformance/arc.t
 * with t/lib/arcq.
 */
#include "config.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "arc_seal.h"
#include "arc_set.h"
#include "arc_verify.h"
#include "authres.h"
#include "buf.h"
#include "dkim_sig.h"
#include "hash.h"
#include "dns.h"
#include "hdr.h"
#include "keycache.h"
#include "pkey.h"
#include "policy.h"
#include "result.h"
#include "../lib/tap.h"

#define AS(i, cv)                                                              \
	"ARC-Seal: i=" #i "; a=rsa-sha256; cv=" #cv "; d=example.net; s=arc;"  \
	" t=1; b=dGVzdA==\n"
#define AMS(i)                                                                 \
	"ARC-Message-Signature: i=" #i "; a=rsa-sha256; c=relaxed/relaxed;"    \
	" d=example.net; s=arc; h=from;"                                       \
	" bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=; b=dGVzdA==\n"
#define AAR(i)                                                                 \
	"ARC-Authentication-Results: i=" #i "; mx.example.net;"                \
	" spf=pass smtp.mailfrom=a@example.com\n"
#define SET(i, cv) AS(i, cv) AMS(i) AAR(i)
#define FROM       "From: a@example.com\nSubject: hi\n"

/* A header block (LF lines, folds kept) into h; the body after the empty
 * line into body when not NULL.  0 or -1. */
static int
load_text(const char *text, size_t len, struct hdr *h, struct buf *body)
{
	const char *p = text, *end = text + len;
	struct buf f;
	int rc = 0;

	buf_init(&f, 0);
	while (p < end && rc == 0) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *e = nl ? nl : end;

		if (e > p && e[-1] == '\r')
			e--;
		if (e == p) {
			p = nl ? nl + 1 : end;
			break;
		}
		if ((*p == ' ' || *p == '\t') && f.len > 0) {
			rc = buf_putc(&f, '\n');
		} else if (f.len > 0) {
			char *c = strchr(f.data, ':');

			if (c != NULL) {
				*c = '\0';
				rc = hdr_add(h, f.data, c + 1) == HDR_OK ? 0
				                                         : -1;
			}
			buf_reset(&f);
		}
		rc = rc ? rc : buf_append(&f, p, (size_t)(e - p));
		p = nl ? nl + 1 : end;
	}
	if (rc == 0 && f.len > 0 && strchr(f.data, ':') != NULL) {
		char *c = strchr(f.data, ':');

		*c = '\0';
		rc = hdr_add(h, f.data, c + 1) == HDR_OK ? 0 : -1;
	}
	if (rc == 0 && body != NULL)
		rc = buf_append(body, p, (size_t)(end - p));
	buf_free(&f);
	return rc;
}

/* Every field of h into a new set. */
static struct arc_set *
set_of(const struct hdr *h)
{
	struct arc_set *s = arc_set_new();

	for (size_t i = 0; s != NULL && i < hdr_count(h); i++)
		if (arc_set_add(s, h, i) < 0) {
			arc_set_free(s);
			return NULL;
		}
	return s;
}

/* "empty n=0", "valid n=2", "invalid n=2 latest-fail: why". */
static void
describe(const struct arc_set *s, char *out, size_t outsz)
{
	static const char *const st[] = {"empty", "valid", "invalid"};
	struct arc_set_check c;

	arc_set_check(s, &c);
	snprintf(out, outsz, "%s n=%u%s%s%s", st[c.state], c.n,
	         c.latest_fail ? " latest-fail" : "", c.why[0] ? ": " : "",
	         c.why);
}

static void
structure_of(const char *text, size_t len, char *out, size_t outsz)
{
	struct hdr *h = hdr_new(HDR_MAX_FIELDS, HDR_MAX_BYTES);
	struct arc_set *s = NULL;

	snprintf(out, outsz, "(setup failed)");
	if (h != NULL && load_text(text, len, h, NULL) == 0 &&
	    (s = set_of(h)) != NULL)
		describe(s, out, outsz);
	arc_set_free(s);
	hdr_free(h);
}

static const struct {
	const char *name, *text, *want;
} structure_cases[] = {
    {"no ARC field", FROM, "empty n=0"},
    {"one set", SET(1, none) FROM, "valid n=1"},
    {"two sets", SET(2, pass) SET(1, none) FROM, "valid n=2"},
    {"sets in any order", AAR(1) SET(2, pass) AS(1, none) FROM AMS(1),
     "valid n=2"},
    {"i=51", SET(51, pass) SET(1, none) FROM,
     "invalid n=51: more than 50 ARC sets (i=51)"},
    {"i=0", SET(0, none) FROM,
     "invalid n=0: ARC-Seal without a usable instance (i=)"},
    {"i=100 (three digits)", AS(100, pass) SET(1, none),
     "invalid n=1: ARC-Seal without a usable instance (i=)"},
    {"i=01 is 1", AS(01, none) AMS(1) AAR(1), "valid n=1"},
    {"duplicate AS", SET(1, none) AS(1, none) FROM,
     "invalid n=1: more than one ARC-Seal for i=1"},
    {"duplicate set", SET(1, none) SET(1, none),
     "invalid n=1: more than one ARC-Seal for i=1"},
    {"duplicate AAR", AAR(1) SET(1, none),
     "invalid n=1: more than one ARC-Authentication-Results for i=1"},
    {"missing AS", AMS(1) AAR(1) FROM, "invalid n=1: no ARC-Seal for i=1"},
    {"missing AMS", AS(1, none) AAR(1),
     "invalid n=1: no ARC-Message-Signature for i=1"},
    {"missing AAR", AS(1, none) AMS(1),
     "invalid n=1: no ARC-Authentication-Results for i=1"},
    {"only an AAR", AAR(1), "invalid n=1: no ARC-Message-Signature for i=1"},
    {"gap", SET(3, pass) SET(1, none), "invalid n=3: no ARC set for i=2"},
    {"no i=1", SET(2, pass), "invalid n=2: no ARC set for i=1"},
    {"cv=pass at i=1", SET(1, pass),
     "invalid n=1: ARC-Seal i=1 has cv=pass, not none"},
    {"cv=none at i=2", SET(2, none) SET(1, none),
     "invalid n=2: ARC-Seal i=2 has cv=none, not pass"},
    {"latest cv=fail", SET(2, fail) SET(1, none),
     "invalid n=2 latest-fail: latest ARC-Seal (i=2) says cv=fail"},
    {"latest cv=fail beats a gap", SET(3, fail) SET(1, none),
     "invalid n=3 latest-fail: latest ARC-Seal (i=3) says cv=fail"},
    {"older cv=fail", SET(2, pass) SET(1, fail),
     "invalid n=2: ARC-Seal i=1 has cv=fail, not none"},
    {"AAR i= not first",
     "ARC-Authentication-Results: mx.example.net; i=1; none\n" AS(1, none)
         AMS(1),
     "invalid n=1: ARC-Authentication-Results without a usable instance "
     "(i=)"},
    {"AAR without ;",
     "ARC-Authentication-Results: i=1 mx.example.net; none\n" AS(1, none)
         AMS(1),
     "invalid n=1: ARC-Authentication-Results without a usable instance "
     "(i=)"},
    {"AAR with comments and folds",
     "ARC-Authentication-Results: (a (nested) one) i (b)= \n\t(c\\)) 1 "
     "(d)\n ; mx.example.net; none\n" AS(1, none) AMS(1),
     "valid n=1"},
    {"AAR unterminated comment",
     "ARC-Authentication-Results: (i=1; mx.example.net; none\n" AS(1, none)
         AMS(1),
     "invalid n=1: ARC-Authentication-Results without a usable instance "
     "(i=)"},
    {"AAR capital I",
     "ARC-Authentication-Results: I=1; mx; none\n" AS(1, none) AMS(1),
     "invalid n=1: ARC-Authentication-Results without a usable instance "
     "(i=)"},
    {"AS with h=",
     "ARC-Seal: i=1; a=rsa-sha256; cv=none; d=example.net; s=arc; h=from;"
     " b=dGVzdA==\n" AMS(1) AAR(1),
     "invalid n=1: ARC-Seal i=1: ARC-Seal must not have h="},
    {"AS with a bad cv=",
     "ARC-Seal: i=1; a=rsa-sha256; cv=maybe; d=example.net; s=arc;"
     " b=dGVzdA==\n" AMS(1) AAR(1),
     "invalid n=1: ARC-Seal i=1: bad cv= tag"},
    {"AS not a tag-list",
     "ARC-Seal: i=1; a=rsa-sha256;; cv=none; d=example.net; s=arc;"
     " b=dGVzdA==\n" AMS(1) AAR(1),
     "invalid n=1: ARC-Seal without a usable instance (i=)"},
    {"AS i= last",
     "ARC-Seal: a=rsa-sha256; cv=none; d=example.net; s=arc;"
     " b=dGVzdA==; i=1\n" AMS(1) AAR(1),
     "valid n=1"},
    {"malformed AMS is not a structure defect",
     AS(1, none) "ARC-Message-Signature: i=1; a=rsa-sha1; d=x; s=y\n" AAR(1),
     "valid n=1"},
    {"field names in odd case",
     "arc-seal: i=1; a=rsa-sha256; cv=none; d=example.net; s=arc;"
     " b=dGVzdA==\nARC-MESSAGE-SIGNATURE: i=1; a=rsa-sha256; d=example.net;"
     " s=arc; h=From; bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=;"
     " b=dGVzdA==\narc-Authentication-RESULTS: i=1; mx; none\n",
     "valid n=1"},
};

static void
test_structure(void)
{
	char got[256];

	for (size_t i = 0;
	     i < sizeof(structure_cases) / sizeof(structure_cases[0]); i++) {
		structure_of(structure_cases[i].text,
		             strlen(structure_cases[i].text), got, sizeof(got));
		is_str(got, structure_cases[i].want, "structure: %s",
		       structure_cases[i].name);
	}
}

/* Caps: a 1 MB field, thousands of fields, a chain of exactly 50. */
static void
test_caps(void)
{
	struct buf b;
	char got[256];

	buf_init(&b, 0);
	buf_puts(&b, "ARC-Seal: i=1; a=rsa-sha256; cv=none; d=example.net; "
	             "s=arc; b=dGVzdA==; x=");
	for (int i = 0; i < 1000 * 1000; i++)
		buf_putc(&b, 'a');
	buf_puts(&b, "\n" AMS(1) AAR(1));
	structure_of(b.data, b.len, got, sizeof(got));
	is_str(got, "invalid n=1: ARC-Seal larger than 32768 bytes",
	       "caps: a 1 MB ARC-Seal");
	buf_reset(&b);
	for (int i = 0; i < 3000; i++)
		buf_puts(&b, AS(1, none));
	structure_of(b.data, b.len, got, sizeof(got));
	is_str(got, "invalid n=1: more than one ARC-Seal for i=1",
	       "caps: 3000 ARC-Seals");
	buf_reset(&b);
	for (int i = 50; i >= 1; i--)
		buf_printf(
		    &b,
		    "ARC-Seal: i=%d; a=rsa-sha256; cv=%s; d=example.net; s=arc;"
		    " b=dGVzdA==\nARC-Message-Signature: i=%d; a=rsa-sha256;"
		    " d=example.net; s=arc; h=from; bh=47DEQpj8HBSa+/TImW+5JCeu"
		    "QeRkm5NMpJWZG3hSuFU=; b=dGVzdA==\n"
		    "ARC-Authentication-Results: i=%d; mx; none\n",
		    i, i == 1 ? "none" : "pass", i, i);
	structure_of(b.data, b.len, got, sizeof(got));
	is_str(got, "valid n=50", "caps: 50 sets are allowed");
	buf_free(&b);
}

/* The AAR payload as authres_parse reads it. */
static void
test_aar(void)
{
	static const char text[] =
	    "ARC-Authentication-Results: i=1; mx.example.net;\n"
	    "\tdmarc=pass (p=reject) header.from=example.com;\n"
	    "\tspf=fail smtp.mailfrom=a@example.com\n" AS(1, none) AMS(1);
	struct hdr *h = hdr_new(HDR_MAX_FIELDS, HDR_MAX_BYTES);
	struct authres_parsed ap;
	struct arc_set *s;

	load_text(text, strlen(text), h, NULL);
	s = set_of(h);
	is_int(arc_set_aar(s, h, 1, &ap), 0, "aar: payload parses");
	is_str(ap.authserv_id, "mx.example.net", "aar: authserv-id");
	is_int((long long)ap.nresinfo, 2, "aar: two results");
	is_str(ap.nresinfo > 0 ? ap.resinfo[0].method : NULL, "dmarc",
	       "aar: first method");
	is_str(ap.nresinfo > 0 ? ap.resinfo[0].result : NULL, "pass",
	       "aar: first result");
	authres_parsed_free(&ap);
	is_int(arc_set_aar(s, h, 2, &ap), -1, "aar: no instance 2");
	authres_parsed_free(&ap);
	arc_set_free(s);
	hdr_free(h);
}

/* One message as a hop sees it: headers, body, the AMS body hash. */
struct hop {
	struct hdr *h;
	struct bodyhash *bh;
	struct arc_set *set;
	int bh_id;
};

static int
hop_load(struct hop *hp, const char *msg)
{
	struct buf body;
	int rc;

	memset(hp, 0, sizeof(*hp));
	buf_init(&body, 0);
	hp->h = hdr_new(HDR_MAX_FIELDS, HDR_MAX_BYTES);
	hp->bh = bodyhash_new();
	rc = hp->h && hp->bh ? load_text(msg, strlen(msg), hp->h, &body) : -1;
	if (rc == 0 && (hp->bh_id = arc_seal_want(hp->bh)) < 0)
		rc = -1;
	if (rc == 0)
		rc = bodyhash_update(hp->bh, (unsigned char *)body.data,
		                     body.len) ||
		     bodyhash_final(hp->bh);
	if (rc == 0 && (hp->set = set_of(hp->h)) == NULL)
		rc = -1;
	buf_free(&body);
	return rc;
}

static void
hop_free(struct hop *hp)
{
	arc_set_free(hp->set);
	bodyhash_free(hp->bh);
	hdr_free(hp->h);
}

/* The sealed message: AS, AMS, AAR on top of msg (values back to CRLF
 * form happens in hdr_add). */
static char *
prepend(const struct arc_seal_out *o, const char *msg)
{
	struct buf b;

	buf_init(&b, 0);
	buf_printf(&b,
	           "ARC-Seal:%s\nARC-Message-Signature:%s\n"
	           "ARC-Authentication-Results:%s\n%s",
	           o->as.data, o->ams.data, o->aar.data, msg);
	return buf_steal(&b);
}

/* Verify AS i and AMS i of a sealed message offline: bit 1 AS, bit 2
 * AMS signature, bit 4 AMS body hash. */
static int
verify_set(const char *msg, unsigned i, const struct pkey *k)
{
	struct hop hp;
	unsigned char md[HASH_MAX_SIZE], bmd[HASH_MAX_SIZE];
	size_t mdlen = 0, bmdlen = 0;
	uint64_t clen;
	const struct dkim_sig *as, *ams;
	int bits = 0;

	if (hop_load(&hp, msg) != 0)
		goto out;
	as = arc_set_sig(hp.set, i, ARC_AS, NULL);
	ams = arc_set_sig(hp.set, i, ARC_AMS, NULL);
	if (as && arc_set_as_hash(hp.set, hp.h, i, md, &mdlen) == 0 &&
	    pkey_verify(k, md, mdlen, as->b, as->blen) == 1)
		bits |= 1;
	if (ams &&
	    dkim_sig_header_hash(ams, hp.h, arc_set_index(hp.set, i, ARC_AMS),
	                         md, &mdlen) == 0 &&
	    pkey_verify(k, md, mdlen, ams->b, ams->blen) == 1)
		bits |= 2;
	if (ams && bodyhash_result(hp.bh, hp.bh_id, bmd, &bmdlen, &clen) == 0 &&
	    bmdlen == ams->bhlen && memcmp(bmd, ams->bh, bmdlen) == 0)
		bits |= 4;
out:
	hop_free(&hp);
	return bits;
}

/* Seal msg as the next hop with chain status cv; the sealed message, or
 * NULL (rc gets arc_seal_make's answer). */
static char *
seal_hop(const char *msg, enum arc_cv cv, unsigned n, struct pkey *k,
         bool suite, int *rc, struct arc_seal_out *keep)
{
	static char *hdrs[] = {
	    "From",    "Subject", "Date", "To", "Authentication-Results",
	    "ARC-Seal"};
	static char *over[] = {"From"};
	struct arc_seal_params p = {.key = k,
	                            .domain = "example.net",
	                            .selector = "arc",
	                            .headers = hdrs,
	                            .nheaders = 6,
	                            .oversign = over,
	                            .noversign = 1,
	                            .now = 1700000000,
	                            .suite_layout = suite};
	struct arc_chain c = {.cv = cv,
	                      .n = n,
	                      .oldest_pass = -1,
	                      .can_seal = true,
	                      .seal_instance = n + 1};
	struct arc_seal_out o;
	struct errbuf eb;
	struct hop hp;
	char *out = NULL;

	*rc = -1;
	if (hop_load(&hp, msg) == 0) {
		*rc = arc_seal_make(
		    hp.h, hp.set, &c, hp.bh, hp.bh_id,
		    " mx.example.net;\n\tspf=pass smtp.mailfrom=a@example.com",
		    &p, &o, &eb);
		if (*rc == 1)
			out = prepend(&o, msg);
		if (keep != NULL && *rc == 1) {
			buf_init(&keep->aar, 0);
			buf_init(&keep->ams, 0);
			buf_init(&keep->as, 0);
			buf_puts(&keep->aar, o.aar.data);
			buf_puts(&keep->ams, o.ams.data);
			buf_puts(&keep->as, o.as.data);
		}
		arc_seal_out_free(&o);
	}
	hop_free(&hp);
	return out;
}

static const char base_msg[] =
    "Authentication-Results: mx.example.net; spf=pass\n"
    "DKIM-Signature: v=1; a=rsa-sha256; d=example.com; s=x; h=from;\n"
    "\tbh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=; b=dGVzdA==\n"
    "From: Alice <a@example.com>\n"
    "To: b@example.org\n"
    "Subject:   Hello   there\n"
    "Date: Mon, 1 Jan 2024 00:00:00 +0000\n"
    "\n"
    "Hi  Bob,\n\n\n";

/* Whether AS i of msg verifies over set i alone and says cv=fail. */
static bool
verify_alone(const char *msg, unsigned i, const struct pkey *k)
{
	struct hop hp;
	unsigned char md[HASH_MAX_SIZE];
	size_t mdlen = 0, len[3];
	const char *last[3];
	const struct hdr_field *f[3];
	const struct dkim_sig *as;
	struct buf stripped;
	bool good = false;

	buf_init(&stripped, 0);
	if (hop_load(&hp, msg) != 0)
		goto out;
	for (int n = 0; n < 3; n++)
		if ((f[n] = hdr_get(hp.h, arc_set_index(hp.set, i, n))) == NULL)
			goto out;
	if (dkim_sig_strip_b(f[ARC_AS]->raw, f[ARC_AS]->rawlen, &stripped))
		goto out;
	last[0] = f[ARC_AAR]->raw;
	len[0] = f[ARC_AAR]->rawlen;
	last[1] = f[ARC_AMS]->raw;
	len[1] = f[ARC_AMS]->rawlen;
	last[2] = stripped.data;
	len[2] = stripped.len;
	as = arc_set_sig(hp.set, i, ARC_AS, NULL);
	good = as != NULL && as->cv == ARC_CV_FAIL &&
	       arc_set_seal_hash(hp.set, hp.h, 0, last, len, md, &mdlen) == 0 &&
	       pkey_verify(k, md, mdlen, as->b, as->blen) == 1;
out:
	buf_free(&stripped);
	hop_free(&hp);
	return good;
}

/* Three hops, each set checked; then the failed-chain seal. */
static void
test_seal_chain(struct pkey *k)
{
	char *m1, *m2, *m3, *mf;
	int rc;

	m1 = seal_hop(base_msg, ARC_CV_NONE, 0, k, false, &rc, NULL);
	is_int(rc, 1, "seal: hop 1 made a set");
	is_int(m1 ? verify_set(m1, 1, k) : 0, 7,
	       "seal: hop 1 AS, AMS and body hash verify");
	m2 = m1 ? seal_hop(m1, ARC_CV_PASS, 1, k, false, &rc, NULL) : NULL;
	is_int(m2 ? verify_set(m2, 2, k) : 0, 7, "seal: hop 2 set verifies");
	is_int(m2 ? verify_set(m2, 1, k) : 0, 7,
	       "seal: hop 1 set still verifies under hop 2");
	m3 = m2 ? seal_hop(m2, ARC_CV_PASS, 2, k, true, &rc, NULL) : NULL;
	is_int(m3 ? verify_set(m3, 3, k) : 0, 7,
	       "seal: hop 3 (suite layout) verifies over sets 1..3");
	/* A failed chain: the new AS covers only the new set, so it does
	 * not verify over sets 1..3 (what a verifier of cv=pass would
	 * compute) but over set 3 alone. */
	mf = m2 ? seal_hop(m2, ARC_CV_FAIL, 2, k, false, &rc, NULL) : NULL;
	is_int(mf ? verify_set(mf, 3, k) : 0, 6,
	       "seal cv=fail: AS 3 does not verify over sets 1..3");
	ok(mf != NULL && verify_alone(mf, 3, k),
	   "seal cv=fail: AS 3 verifies over set 3 alone (5.1.2)");
	free(m1);
	free(m2);
	free(m3);
	free(mf);
}

/* What the values look like. */
static void
test_layout(struct pkey *k)
{
	struct arc_seal_out o = {0}, s = {0};
	char *m;
	int rc;

	m = seal_hop(base_msg, ARC_CV_NONE, 0, k, false, &rc, &o);
	free(m);
	is_str(strncmp(o.aar.data ? o.aar.data : "", " i=1; mx.example.net;",
	               21) == 0
	           ? "ok"
	           : o.aar.data,
	       "ok", "layout: AAR is \" i=1; \" + our A-R");
	ok(o.ams.data && strncmp(o.ams.data,
	                         " i=1; a=rsa-sha256; "
	                         "c=relaxed/relaxed;\n\td=example.net;"
	                         " s=arc; t=1700000000;\n\th=",
	                         72) == 0,
	   "layout: AMS starts with i=, relaxed/relaxed, t=");
	ok(o.ams.data &&
	       strstr(o.ams.data,
	              "h=From:From:Subject:Date:To:DKIM-Signature;") != NULL,
	   "layout: h= oversigns From, lists DKIM-Signature, never A-R or "
	   "ARC");
	ok(o.as.data && strncmp(o.as.data,
	                        " i=1; a=rsa-sha256; cv=none; "
	                        "d=example.net; s=arc; "
	                        "t=1700000000;\n\tb=",
	                        68) == 0,
	   "layout: AS is i=, a=, cv=none, d=, s=, t=, b=");
	ok(o.as.data && !strchr(o.as.data, '\r') && !strchr(o.ams.data, '\r') &&
	       !strchr(o.aar.data, '\r'),
	   "layout: LF folds only (libmilter form)");
	m = seal_hop(base_msg, ARC_CV_NONE, 0, k, true, &rc, &s);
	free(m);
	ok(s.ams.data && strncmp(s.ams.data, " a=rsa-sha256;\n\tb=", 18) == 0 &&
	       strchr(s.ams.data + 18, '\n') > strchr(s.ams.data + 18, ';'),
	   "suite layout: tags sorted, AMS b= on one line");
	ok(s.as.data && strstr(s.as.data, "; cv=none; d=example.net; i=1; "
	                                  "s=arc;\n\tt=1700000000") != NULL,
	   "suite layout: AS tags sorted");
	arc_seal_out_free(&o);
	arc_seal_out_free(&s);
}

/* A hostile header section: thousands of copies of a signed field; and
 * the A-R text in either line-break form. */
static void
test_hostile_seal(struct pkey *k)
{
	struct buf b;
	struct arc_seal_out o = {0};
	const char *p;
	char *m;
	int rc, n = 0;

	buf_init(&b, 0);
	for (int i = 0; i < 3000; i++)
		buf_puts(&b, "To: someone@example.org\n");
	buf_puts(&b, base_msg);
	m = seal_hop(b.data, ARC_CV_NONE, 0, k, false, &rc, &o);
	is_int(rc, 1, "hostile: 3000 To fields, still sealed");
	for (p = o.ams.data; p && (p = strstr(p, "To")) != NULL; p += 2)
		n++;
	is_int(n, 8, "hostile: h= signs at most 8 copies of To");
	is_int(m ? verify_set(m, 1, k) : 0, 7, "hostile: and it verifies");
	free(m);
	arc_seal_out_free(&o);
	buf_free(&b);
}

static void
test_aar_text(struct pkey *k)
{
	static char *hdrs[] = {"From"};
	struct arc_seal_params p = {.key = k,
	                            .domain = "example.net",
	                            .selector = "arc",
	                            .headers = hdrs,
	                            .nheaders = 1,
	                            .now = 1};
	struct arc_chain c = {
	    .cv = ARC_CV_NONE, .can_seal = true, .seal_instance = 1};
	struct arc_seal_out o;
	struct errbuf eb;
	struct hop hp;

	if (hop_load(&hp, base_msg) != 0)
		return;
	arc_seal_make(hp.h, hp.set, &c, hp.bh, hp.bh_id,
	              "\r\n  mx.example.net;\r\n\tspf=pass;\ndkim=none  \r\n",
	              &p, &o, &eb);
	is_str(o.aar.data, " i=1; mx.example.net;\n\tspf=pass;\n\tdkim=none",
	       "AAR: trimmed, CRLF and LF folds made LF + WSP");
	arc_seal_out_free(&o);
	hop_free(&hp);
}

/* Refusals: no sealing when the chain forbids it, no Ed25519 key. */
static void
test_refusals(struct pkey *k, struct pkey *ed)
{
	struct hop hp;
	struct arc_seal_out o;
	struct errbuf eb = {{0}};
	static char *hdrs[] = {"From"};
	struct arc_seal_params p = {.key = k,
	                            .domain = "example.net",
	                            .selector = "arc",
	                            .headers = hdrs,
	                            .nheaders = 1,
	                            .now = 1};
	struct arc_chain c = {
	    .cv = ARC_CV_PASS, .n = 50, .can_seal = false, .seal_instance = 51};

	if (hop_load(&hp, base_msg) != 0) {
		ok(0, "refusals: setup");
		return;
	}
	is_int(arc_seal_make(hp.h, hp.set, &c, hp.bh, hp.bh_id, " x; none", &p,
	                     &o, &eb),
	       0, "refuse: can_seal false makes nothing");
	is_int((long long)o.as.len, 0, "refuse: output empty");
	arc_seal_out_free(&o);
	c.can_seal = true;
	is_int(arc_seal_make(hp.h, hp.set, &c, hp.bh, hp.bh_id, " x; none", &p,
	                     &o, &eb),
	       0, "refuse: no instance 51");
	arc_seal_out_free(&o);
	c = (struct arc_chain){
	    .cv = ARC_CV_NONE, .can_seal = true, .seal_instance = 1};
	p.key = ed;
	is_int(arc_seal_make(hp.h, hp.set, &c, hp.bh, hp.bh_id, " x; none", &p,
	                     &o, &eb),
	       -1, "refuse: an Ed25519 key (RFC 8617 seals with rsa-sha256)");
	ok(strstr(eb.msg, "RSA") != NULL, "refuse: says why (%s)", eb.msg);
	arc_seal_out_free(&o);
	hop_free(&hp);
}

/* A loopback UDP socket that never answers; "127.0.0.1@PORT" in name. */
static int
silent_server(char *name, size_t namesz)
{
	struct sockaddr_in sin = {.sin_family = AF_INET};
	socklen_t len = sizeof(sin);
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sin, sizeof(sin)) != 0 ||
	    getsockname(fd, (struct sockaddr *)&sin, &len) != 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	snprintf(name, namesz, "127.0.0.1@%u", ntohs(sin.sin_port));
	return fd;
}

/* Run arc_verify over msg; the result record described, chain in *c. */
static void
verify_msg(struct keycache *kc, struct dns *d, const char *msg,
           struct arc_chain *c, char *out, size_t outsz)
{
	struct hdr *h = hdr_new(HDR_MAX_FIELDS, HDR_MAX_BYTES);
	struct bodyhash *bh = bodyhash_new();
	struct resultset *rs = resultset_new();
	struct arc_verify *av = arc_verify_new(kc, d, bh);
	struct authres_parsed ap;
	struct buf body;
	const struct result *r;
	const char *op;

	buf_init(&body, 0);
	snprintf(out, outsz, "(setup failed)");
	if (h == NULL || bh == NULL || rs == NULL || av == NULL ||
	    load_text(msg, strlen(msg), h, &body) != 0)
		goto done;
	for (size_t i = 0; i < hdr_count(h); i++)
		arc_verify_field(av, h, i);
	bodyhash_update(bh, (unsigned char *)body.data, body.len);
	bodyhash_final(bh);
	if (arc_verify_finish(av, h, "192.0.2.7", 1700000500, rs, c) != 0 ||
	    (r = resultset_get(rs, 0)) == NULL)
		goto done;
	op = result_get_prop(r, "header", "oldest-pass");
	snprintf(out, outsz, "%s ip=%s op=%s key=%s reason=%s seal=%s/%u",
	         ar_result_name(r->result),
	         result_get_prop(r, "smtp", "remote-ip"), op ? op : "-",
	         r->key == POLICY_K_ARC_FAIL ? "arc_fail"
	         : r->key == RESULT_NO_KEY   ? "none"
	                                     : "other",
	         r->reason ? r->reason : "-", c->can_seal ? "yes" : "no",
	         c->seal_instance);
	ok(arc_verify_sealer(av, 1) == NULL &&
	       arc_verify_aar(av, h, 1, &ap) == -1,
	   "no sealer or AAR is exposed unless the chain passed");
	authres_parsed_free(&ap);
done:
	arc_verify_free(av);
	resultset_free(rs);
	bodyhash_free(bh);
	hdr_free(h);
	buf_free(&body);
}

static void
test_verify_offline(const char *src)
{
	char server[64], got[512], path[1200];
	const char *servers[1] = {server};
	struct dns_settings ds = {servers, 1, 200, NULL};
	struct keycache *kc = keycache_new(100);
	struct arc_chain c;
	struct errbuf eb;
	struct dns *d = NULL;
	struct buf valid;
	int fd = silent_server(server, sizeof(server));
	FILE *f;

	buf_init(&valid, 0);
	if (!ok(fd >= 0 && kc != NULL && (d = dns_new(&ds, &eb)) != NULL,
	        "verify: a resolver that never gets an answer"))
		goto out;
	verify_msg(kc, d, base_msg, &c, got, sizeof(got));
	is_str(got, "none ip=192.0.2.7 op=- key=none reason=- seal=yes/1",
	       "verify: no ARC field is arc=none");
	verify_msg(kc, d, SET(1, none) SET(1, none) FROM, &c, got, sizeof(got));
	is_str(got,
	       "fail ip=192.0.2.7 op=- key=arc_fail reason=more than one "
	       "ARC-Seal for i=1 seal=yes/2",
	       "verify: a broken structure fails, and may be sealed cv=fail");
	verify_msg(kc, d, SET(2, fail) SET(1, none) FROM, &c, got, sizeof(got));
	is_str(got,
	       "fail ip=192.0.2.7 op=- key=arc_fail reason=latest "
	       "ARC-Seal (i=2) says cv=fail seal=no/3",
	       "verify: after a cv=fail seal nothing may seal (5.1 step 2)");
	snprintf(path, sizeof(path), "%s/t/vectors/arc/valid-1/message", src);
	if ((f = fopen(path, "rb")) != NULL) {
		char chunk[4096];
		size_t n;

		while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
			buf_append(&valid, chunk, n);
		fclose(f);
	}
	verify_msg(kc, d, valid.data ? valid.data : "", &c, got, sizeof(got));
	is_str(got,
	       "fail ip=192.0.2.7 op=- key=arc_fail reason=ARC-Message-"
	       "Signature i=1: key lookup: timeout seal=no/2",
	       "verify: keys that cannot be had fail the chain (5.2.1) but "
	       "forbid sealing on our own DNS trouble");
out:
	dns_free(d);
	keycache_free(kc);
	buf_free(&valid);
	if (fd >= 0)
		close(fd);
}

/* Each t/vectors/arc case: its structure file against arc_set_check. */
static void
test_vectors(const char *src)
{
	char dir[1024], path[1600], want[512], got[512];
	DIR *d;
	struct dirent *e;
	int n = 0;

	snprintf(dir, sizeof(dir), "%s/t/vectors/arc", src);
	if ((d = opendir(dir)) == NULL) {
		ok(0, "vectors: open %s", dir);
		return;
	}
	while ((e = readdir(d)) != NULL) {
		struct buf msg;
		FILE *f;

		snprintf(path, sizeof(path), "%s/%s/structure", dir, e->d_name);
		if (e->d_name[0] == '.' || (f = fopen(path, "r")) == NULL)
			continue;
		if (fgets(want, sizeof(want), f) == NULL)
			want[0] = '\0';
		fclose(f);
		want[strcspn(want, "\n")] = '\0';
		snprintf(path, sizeof(path), "%s/%s/message", dir, e->d_name);
		buf_init(&msg, 0);
		if ((f = fopen(path, "rb")) != NULL) {
			char chunk[4096];
			size_t k;

			while ((k = fread(chunk, 1, sizeof(chunk), f)) > 0)
				buf_append(&msg, chunk, k);
			fclose(f);
		}
		structure_of(msg.data ? msg.data : "", msg.len, got,
		             sizeof(got));
		is_str(got, want, "vector %s: structure", e->d_name);
		buf_free(&msg);
		n++;
	}
	closedir(d);
	ok(n >= 10, "vectors: %d cases with a structure file", n);
}

int
main(void)
{
	const char *src = getenv("T_SRCDIR");
	char path[1024];
	struct errbuf eb;
	struct pkey *k, *ed;

	src = src ? src : ".";
	test_structure();
	test_caps();
	test_aar();
	snprintf(path, sizeof(path), "%s/t/data/keys/rsa2048-pkcs8.pem", src);
	k = pkey_load_private(path, &eb);
	snprintf(path, sizeof(path), "%s/t/data/keys/ed25519.pem", src);
	ed = pkey_load_private(path, &eb);
	if (ok(k != NULL && ed != NULL, "test keys load")) {
		test_seal_chain(k);
		test_layout(k);
		test_refusals(k, ed);
		test_hostile_seal(k);
		test_aar_text(k);
	}
	pkey_unref(k);
	pkey_unref(ed);
	test_verify_offline(src);
	test_vectors(src);
	return done_testing();
}
