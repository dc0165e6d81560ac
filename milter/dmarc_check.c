/*
 * dmarc_check: DMARC for one message (see dmarc_check.h).
 *
 * What is ours and what is libopendmarc's.  libopendmarc 1.4.2 cannot do
 * RFC 9989 (no np=, psd=, t=, no tree walk), its strict alignment is wrong
 * (adkim=s aligns a.example.com with example.com), its relaxed alignment
 * is a label-suffix test, and its parser is lenient: "V=dmarc1; P=Rej"
 * parses as p=reject, v= need not come first, "p=reject; p=none" silently
 * gives none, pct=50x gives 50, rf=iodef overwrites aspf with a byte that
 * is neither r nor s, a record over 8191 bytes is cut, and a rua URI of
 * 256 bytes or more makes the whole record an error.  So the record
 * parser (dmarc_record.c), the tree walk, the organizational domains and
 * alignment are ours.  In RFC 7489 mode the record we fetched is also
 * handed to libopendmarc (opendmarc_policy_store_dmarc) and its p, sp,
 * pct, adkim, aspf and rua are read back and compared with ours: where
 * they agree they are used; where they differ the strict parse wins
 * (every difference seen so far is one of the leniencies above) and the
 * difference is logged at -v.  Records over 4 KiB or holding a NUL are
 * not given to it.
 *
 * libopendmarc's globals and thread rules, read in its source and checked
 * against Debian's 1.4.2 by test: opendmarc_policy_library_init() copies
 * its settings into a static struct without a lock ("not thread safe so
 * only call once on startup"); the public suffix table (opendmarc_tld_*)
 * is one process-wide hash behind a mutex; its DNS code
 * (res_ninit/res_nquery) blocks, with retries of its own.  The path used
 * here -- connect_init, store_dmarc, fetch_p/sp/pct/adkim/aspf,
 * fetch_rua(NULL, 0, 1) (a non-NULL buffer would make it do DNS for
 * every URI), connect_shutdown -- touches only the per-call
 * DMARC_POLICY_T: library_init is never called, its PSL and DNS are never
 * used, nor get_policy_to_enforce / check_alignment (they reach the PSL
 * table).  4 threads parsing at once under helgrind report nothing, and
 * t/unit/dmarc_test.c runs the same path from 4 threads.  Its exported
 * unprefixed names (dmarc_strlcpy, dmarc_dns_get_record,
 * opendmarc_hash_*) do not clash with ours (dmarc_check_, dmarc_record_,
 * dmarc_psl_).
 *
 * DNS: every lookup goes through dns.c.  dmarc_check_start() starts the
 * whole tree walk of the author domain at once (RFC 9989: at most 8 TXT
 * queries, plus the author domain's A record for np=; RFC 7489: the
 * author and organizational domains); finish() starts the walks of the
 * authenticated identifiers that need one and then waits, in order.
 */
#include "config.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include <opendmarc/dmarc.h>

#include "buf.h"
#include "dmarc_check.h"
#include "dmarc_psl.h"
#include "dmarc_record.h"
#include "dns.h"
#include "hdr.h"
#include "log.h"

#define TXT_MAX     65536 /* a TXT RRset never holds more */
#define LIB_REC_MAX 4096  /* records handed to libopendmarc */

/* One TXT query, _dmarc.<name>, and the DMARC records in its answer. */
struct lookup {
	char name[DMARC_DOMAIN_MAX];
	struct dns_query *q; /* NULL when the name is too long to query */
	bool done;
	enum dns_status st;
	char why[48];
	unsigned nrec;                 /* DMARC Policy Records in the answer */
	struct dmarc_record_tags tags; /* the record when nrec == 1 */
	char *raw;                     /* its text, owned */
	size_t rawlen;                 /* its length (it may hold a NUL) */
};

/* One DNS Tree Walk (RFC 9989 section 4.10). */
struct walk {
	char domain[DMARC_DOMAIN_MAX];
	size_t off[DMARC_WALK_MAX], n;
	struct lookup *lk[DMARC_WALK_MAX];
	bool run;
	struct lookup *err; /* the lookup that failed, or NULL */
	struct dmarc_walk_found found[DMARC_WALK_MAX];
	struct lookup *foundlk[DMARC_WALK_MAX];
	size_t nfound;
	size_t org;         /* offset of the organizational domain */
	struct lookup *psd; /* the psd=y record that ended the walk */
};

struct dmarc_check {
	struct dns *dns;
	struct dmarc_settings s;
	char from[DMARC_DOMAIN_MAX]; /* normalised author domain */
	bool bad_domain;
	struct lookup **lk;
	size_t nlk, caplk;
	struct walk author; /* RFC 9989 */
	struct walk *idw;   /* identifiers' walks */
	size_t nidw, capidw;
	struct dns_query *exist; /* A of the author domain (np=) */
	size_t psl_org;          /* RFC 7489: offset into from */
};

/* What the evaluation found. */
struct verdict {
	enum ar_result result;
	char why[DMARC_DOMAIN_MAX + 96]; /* temperror, permerror, fail reason */
	struct lookup *rec;              /* the DMARC Policy Record applied */
	struct dmarc_record_tags tags;
	enum dmarc_req req;     /* p, sp or np */
	enum dmarc_req applied; /* after t= or pct= */
	bool testing;
	bool spf_aligned, dkim_aligned;
	bool undetermined;    /* an aligned identifier hit a temperror */
	unsigned npass;       /* SPF and DKIM passes seen */
	const char *override; /* a local policy that set the policy aside */
	enum dmarc_disposition disp;
	int key;
};

/* ---- lookups ---- */

/* The records of a TXT answer: count the DMARC ones, keep the first. */
static int
lookup_parse(struct lookup *lk, const struct dns_answer *a)
{
	struct buf b;
	int rc = 0;

	buf_init(&b, TXT_MAX);
	for (size_t i = 0; i < a->nrr && rc == 0; i++) {
		struct dmarc_record_tags t;
		int txt = dns_rr_txt(&a->rr[i], &b);

		if (txt == -2)
			rc = -1; /* out of memory */
		if (txt != 0 ||
		    dmarc_record_parse(b.data, b.len, &t) != DMARC_RECORD_OK)
			continue;
		if (lk->nrec++ == 0) {
			lk->tags = t;
			if ((lk->raw = malloc(b.len + 1)) == NULL)
				rc = -1;
			else
				memcpy(lk->raw, b.data, b.len + 1);
			lk->rawlen = b.len;
		}
	}
	buf_free(&b);
	return rc;
}

/* Wait for lk's answer; 0, or -1 when out of memory. */
static int
lookup_wait(struct lookup *lk)
{
	const struct dns_answer *a;

	if (lk->done)
		return 0;
	lk->done = true;
	if (lk->q == NULL) {
		lk->st = DNS_NXDOMAIN;
		return 0;
	}
	lk->st = dns_wait(lk->q);
	a = dns_answer(lk->q);
	snprintf(lk->why, sizeof(lk->why), "%s",
	         a->why[0] ? a->why : dns_status_name(lk->st));
	return lk->st == DNS_OK ? lookup_parse(lk, a) : 0;
}

/* The lookup of _dmarc.<name>, started now or earlier; NULL when out of
 * memory. */
static struct lookup *
lookup_get(struct dmarc_check *c, const char *name)
{
	char q[DNS_NAME_MAX];
	struct lookup *lk;

	for (size_t i = 0; i < c->nlk; i++)
		if (strcmp(c->lk[i]->name, name) == 0)
			return c->lk[i];
	if (c->nlk == c->caplk) {
		size_t n = c->caplk ? c->caplk * 2 : 16;
		struct lookup **p = realloc(c->lk, n * sizeof(*p));

		if (p == NULL)
			return NULL;
		c->lk = p;
		c->caplk = n;
	}
	if ((lk = calloc(1, sizeof(*lk))) == NULL)
		return NULL;
	snprintf(lk->name, sizeof(lk->name), "%s", name);
	/* A name too long for "_dmarc." cannot hold a record. */
	if ((size_t)snprintf(q, sizeof(q), "_dmarc.%s", name) <= 253 &&
	    (lk->q = dns_start(c->dns, q, DNS_T_TXT)) == NULL) {
		free(lk);
		return NULL;
	}
	c->lk[c->nlk++] = lk;
	return lk;
}

static void
lookup_free(struct lookup *lk)
{
	dns_query_free(lk->q);
	free(lk->raw);
	free(lk);
}

/* ---- the DNS Tree Walk (RFC 9989 section 4.10) ---- */

/* Start every query of the walk from domain; 0 or -1. */
static int
walk_start(struct dmarc_check *c, struct walk *w, const char *domain)
{
	memset(w, 0, sizeof(*w));
	snprintf(w->domain, sizeof(w->domain), "%s", domain);
	w->n = dmarc_record_walk(w->domain, w->off);
	for (size_t i = 0; i < w->n; i++)
		if ((w->lk[i] = lookup_get(c, w->domain + w->off[i])) == NULL)
			return -1;
	return 0;
}

/* Run the walk to its end: step 2/6 stop at psd=y or psd=n, then the
 * organizational domain (section 4.10.2); 0, or -1 when out of memory.
 * A failed lookup before the end leaves w->err set. */
static int
walk_run(struct walk *w)
{
	if (w->run)
		return 0;
	w->run = true;
	for (size_t i = 0; i < w->n; i++) {
		struct lookup *lk = w->lk[i];

		if (lookup_wait(lk) != 0)
			return -1;
		if (lk->st == DNS_TEMPERROR || lk->st == DNS_PERMERROR) {
			w->err = lk;
			return 0;
		}
		if (lk->nrec != 1)
			continue; /* none, or several: all discarded */
		w->found[w->nfound].off = w->off[i];
		w->found[w->nfound].psd = lk->tags.psd;
		w->foundlk[w->nfound++] = lk;
		if (lk->tags.psd == 'y' || lk->tags.psd == 'n') {
			if (lk->tags.psd == 'y')
				w->psd = lk;
			break;
		}
	}
	w->org = dmarc_record_org(w->domain, w->found, w->nfound);
	return 0;
}

/* Set a temperror or permerror verdict for a failed lookup. */
static void
lookup_error(struct verdict *v, const struct lookup *lk)
{
	v->result = lk->st == DNS_PERMERROR ? AR_R_PERMERROR : AR_R_TEMPERROR;
	snprintf(v->why, sizeof(v->why), "DNS %s for _dmarc.%s", lk->why,
	         lk->name);
}

/* ---- policy discovery ---- */

/* RFC 9989 section 4.10.1: the author domain's record, else that of its
 * organizational domain, else that of its public suffix domain. */
static int
discover_9989(struct dmarc_check *c, struct verdict *v)
{
	struct walk *w = &c->author;
	const char *org;

	if (lookup_wait(w->lk[0]) != 0)
		return -1;
	if (w->lk[0]->st == DNS_TEMPERROR || w->lk[0]->st == DNS_PERMERROR) {
		lookup_error(v, w->lk[0]);
		return 0;
	}
	if (w->lk[0]->nrec == 1) {
		v->rec = w->lk[0];
		return 0;
	}
	if (walk_run(w) != 0)
		return -1;
	if (w->err != NULL) {
		lookup_error(v, w->err);
		return 0;
	}
	org = w->domain + w->org;
	for (size_t i = 0; i < w->nfound; i++)
		if (strcmp(w->foundlk[i]->name, org) == 0)
			v->rec = w->foundlk[i];
	if (v->rec == NULL)
		v->rec = w->psd;
	return 0;
}

/* RFC 7489 section 6.6.3: the author domain's record, else (only when
 * the author domain has none at all) the organizational domain's. */
static int
discover_7489(struct dmarc_check *c, struct verdict *v)
{
	struct lookup *lk = NULL;

	for (int i = 0; i < 2; i++) {
		if (i == 1 && c->psl_org == 0)
			break;
		if ((lk = lookup_get(c, c->from + (i ? c->psl_org : 0))) ==
		        NULL ||
		    lookup_wait(lk) != 0)
			return -1;
		if (lk->st == DNS_TEMPERROR || lk->st == DNS_PERMERROR) {
			lookup_error(v, lk);
			return 0;
		}
		if (lk->nrec > 0)
			break; /* step 5: several records end discovery */
	}
	if (lk != NULL && lk->nrec == 1)
		v->rec = lk;
	return 0;
}

/* ---- libopendmarc (RFC 7489 mode) ---- */

static enum dmarc_req
lib_req(int p)
{
	switch (p) {
	case DMARC_RECORD_P_NONE:
		return DMARC_REQ_NONE;
	case DMARC_RECORD_P_QUARANTINE:
		return DMARC_REQ_QUARANTINE;
	case DMARC_RECORD_P_REJECT:
		return DMARC_REQ_REJECT;
	default:
		return DMARC_REQ_ABSENT;
	}
}

/* libopendmarc's reading of a record into out (p, sp, pct, adkim, aspf,
 * nrua; the rest left as it is); its status, DMARC_PARSE_OKAY when it
 * took the record. */
static int
lib_read(const char *raw, const char *domain, const char *org,
         struct dmarc_record_tags *out)
{
	DMARC_POLICY_T *p;
	u_char **rua;
	int st, pp = 0, sp = 0, pct = 0, adkim = 0, aspf = 0;

	if ((p = opendmarc_policy_connect_init((u_char *)"0.0.0.0", 0)) == NULL)
		return DMARC_PARSE_ERROR_NO_ALLOC;
	st = opendmarc_policy_store_dmarc(p, (u_char *)raw, (u_char *)domain,
	                                  (u_char *)org);
	if (st == DMARC_PARSE_OKAY) {
		(void)opendmarc_policy_fetch_p(p, &pp);
		(void)opendmarc_policy_fetch_sp(p, &sp);
		(void)opendmarc_policy_fetch_pct(p, &pct);
		(void)opendmarc_policy_fetch_adkim(p, &adkim);
		(void)opendmarc_policy_fetch_aspf(p, &aspf);
		/* NULL buffer, constant list: no DNS of its own. */
		rua = opendmarc_policy_fetch_rua(p, NULL, 0, 1);
		out->p = lib_req(pp);
		out->sp = lib_req(sp);
		out->pct = pct;
		out->adkim = (char)adkim;
		out->aspf = (char)aspf;
		for (out->nrua = 0; rua != NULL && rua[out->nrua] != NULL;)
			out->nrua++;
	}
	(void)opendmarc_policy_connect_shutdown(p);
	return st;
}

/* RFC 7489 mode: libopendmarc's p/sp/pct/adkim/aspf/rua where they agree
 * with the strict parse in *t, which wins where they do not. */
static void
lib_crosscheck(const struct dmarc_check *c, const struct lookup *rec,
               struct dmarc_record_tags *t)
{
	struct dmarc_record_tags lib = *t;
	int st;

	if (rec->rawlen >= LIB_REC_MAX || strlen(rec->raw) != rec->rawlen)
		return;
	st = lib_read(rec->raw, rec->name,
	              strcmp(rec->name, c->from) != 0 ? rec->name : NULL, &lib);
	if (st == DMARC_PARSE_OKAY && lib.p == t->p && lib.sp == t->sp &&
	    lib.pct == t->pct && lib.adkim == t->adkim && lib.aspf == t->aspf &&
	    (lib.nrua > 0) == (t->nrua > 0))
		return; /* its values are the ones in *t */
	log_debug(1,
	          "dmarc: libopendmarc reads _dmarc.%s differently "
	          "(status %d, p %s/%s, sp %s/%s, pct %d/%d); the strict parse "
	          "is used",
	          rec->name, st, dmarc_req_name(lib.p), dmarc_req_name(t->p),
	          dmarc_req_name(lib.sp), dmarc_req_name(t->sp), lib.pct,
	          t->pct);
}

/* ---- the record ---- */

static bool
req_valid(enum dmarc_req r)
{
	return r >= DMARC_REQ_NONE;
}

/* The record's tags after RFC 9989 section 4.10.1 (RFC 7489 section
 * 6.6.3 step 6): no valid p, or an invalid sp (np): p=none when rua has
 * a valid URI, else the record is unusable (permerror). */
static void
record_tags(const struct dmarc_check *c, struct verdict *v)
{
	struct dmarc_record_tags *t = &v->tags;
	bool rfc7489 = c->s.mode == DMARC_MODE_RFC7489;

	*t = v->rec->tags;
	if (rfc7489)
		lib_crosscheck(c, v->rec, t);
	if (req_valid(t->p) && t->sp != DMARC_REQ_INVALID &&
	    (rfc7489 || t->np != DMARC_REQ_INVALID))
		return;
	if (t->nrua == 0) {
		v->result = AR_R_PERMERROR;
		snprintf(v->why, sizeof(v->why),
		         "_dmarc.%s: %s and no valid rua=", v->rec->name,
		         req_valid(t->p) ? "invalid sp= or np="
		                         : "no valid p=");
		return;
	}
	t->p = DMARC_REQ_NONE;
	t->sp = t->np = DMARC_REQ_ABSENT;
}

/* ---- identifier alignment (RFC 9989 sections 4.4, 4.10.2) ---- */

/* Whether a and b end in the same label: if not, their organizational
 * domains (suffixes of each) cannot be equal, and no walk is needed. */
static bool
share_label(const char *a, const char *b)
{
	const char *x = strrchr(a, '.'), *y = strrchr(b, '.');

	return strcmp(x ? x + 1 : a, y ? y + 1 : b) == 0;
}

/* The walk of domain d, started when absent; NULL when out of memory. */
static struct walk *
id_walk(struct dmarc_check *c, const char *d)
{
	if (strcmp(d, c->from) == 0)
		return &c->author;
	for (size_t i = 0; i < c->nidw; i++)
		if (strcmp(c->idw[i].domain, d) == 0)
			return &c->idw[i];
	if (c->nidw == c->capidw || walk_start(c, &c->idw[c->nidw], d) != 0)
		return NULL;
	return &c->idw[c->nidw++];
}

/* The organizational domain of d into org; 1 done, 0 unknown (a lookup
 * failed), -1 out of memory. */
static int
org_of(struct dmarc_check *c, const char *d, const char **org)
{
	struct walk *w;

	if (c->s.mode == DMARC_MODE_RFC7489) {
		*org = d + dmarc_psl_org(c->s.psl, d);
		return 1;
	}
	if ((w = id_walk(c, d)) == NULL || walk_run(w) != 0)
		return -1;
	*org = w->domain + w->org;
	return w->err == NULL;
}

/* Whether identifier id aligns with the author domain in mode ('r', 's');
 * 1 yes, 0 no, 2 unknown (a walk failed), -1 out of memory. */
static int
aligned(struct dmarc_check *c, const char *id, char mode)
{
	const char *oa, *oi;
	int ra, ri;

	if (strcmp(id, c->from) == 0)
		return 1;
	if (mode == 's' || !share_label(id, c->from))
		return 0;
	if ((ra = org_of(c, c->from, &oa)) < 0 || (ri = org_of(c, id, &oi)) < 0)
		return -1;
	if (ra == 0 || ri == 0)
		return 2;
	return strcmp(oa, oi) == 0;
}

/* Normalise an identifier (an smtp.mailfrom may carry a local part). */
static bool
ident(const char *in, char *out)
{
	const char *at = in != NULL ? strrchr(in, '@') : NULL;

	return in != NULL && dmarc_record_domain(at ? at + 1 : in, out) == 0;
}

/* Start the walks of the identifiers that may need one (RFC 9989 mode,
 * relaxed alignment), so that their lookups run together; 0 or -1. */
static int
start_walks(struct dmarc_check *c, const struct verdict *v,
            const struct dmarc_auth *a)
{
	char d[DMARC_DOMAIN_MAX];

	if (c->s.mode != DMARC_MODE_RFC9989)
		return 0;
	if ((c->idw = calloc(a->ndkim + 1, sizeof(*c->idw))) == NULL)
		return -1;
	c->capidw = a->ndkim + 1;
	if (v->tags.aspf == 'r' &&
	    (a->spf == AR_R_PASS || a->spf == AR_R_TEMPERROR) &&
	    ident(a->spf_domain, d) && share_label(d, c->from) &&
	    id_walk(c, d) == NULL)
		return -1;
	for (size_t i = 0; v->tags.adkim == 'r' && i < a->ndkim; i++)
		if ((a->dkim[i].result == AR_R_PASS ||
		     a->dkim[i].result == AR_R_TEMPERROR) &&
		    ident(a->dkim[i].domain, d) && share_label(d, c->from) &&
		    id_walk(c, d) == NULL)
			return -1;
	return 0;
}

/* Account for one identifier (what: "SPF", "DKIM") with result r: a pass
 * that aligns sets *hit; a temperror that would align, or a pass whose
 * alignment could not be found, leaves the result undetermined (RFC 9989
 * section 5.3.6; RFC 7489 section 6.6.2).  0 or -1. */
static int
check_one(struct dmarc_check *c, struct verdict *v, const char *what,
          const char *domain, enum ar_result r, char mode, bool *hit)
{
	char d[DMARC_DOMAIN_MAX];
	int al;

	if ((r != AR_R_PASS && r != AR_R_TEMPERROR) || !ident(domain, d))
		return 0;
	v->npass += r == AR_R_PASS;
	if ((al = aligned(c, d, mode)) < 0)
		return -1;
	if (al == 1 && r == AR_R_PASS)
		*hit = true;
	else if (al != 0 && !v->undetermined) {
		v->undetermined = true;
		snprintf(v->why, sizeof(v->why),
		         al == 2 ? "the tree walk "
		                   "for %s %s failed (temporary DNS error)"
		                 : "%s %s: "
		                   "temperror",
		         what, d);
	}
	return 0;
}

/* The alignment of SPF and of every DKIM result (RFC 9989 section
 * 5.3.4); 0 or -1. */
static int
check_alignment(struct dmarc_check *c, struct verdict *v,
                const struct dmarc_auth *a)
{
	if (start_walks(c, v, a) != 0 ||
	    check_one(c, v, "SPF", a->spf_domain, a->spf, v->tags.aspf,
	              &v->spf_aligned) != 0)
		return -1;
	for (size_t i = 0; i < a->ndkim; i++)
		if (check_one(c, v, "DKIM", a->dkim[i].domain,
		              a->dkim[i].result, v->tags.adkim,
		              &v->dkim_aligned) != 0)
			return -1;
	if (v->spf_aligned || v->dkim_aligned) {
		v->result = AR_R_PASS;
		v->why[0] = '\0';
	} else if (v->undetermined) {
		v->result = AR_R_TEMPERROR;
	} else {
		v->result = AR_R_FAIL;
		snprintf(v->why, sizeof(v->why),
		         v->npass > 0 ? "SPF or DKIM "
		                        "pass, but not aligned"
		                      : "no SPF or DKIM pass");
	}
	return 0;
}

/* ---- the policy (RFC 9989 sections 4.7, 4.10.1; RFC 7489 6.6.4) ---- */

/* Whether the author domain exists (RFC 9989 section 3.2.13: NXDOMAIN
 * says it does not); 1, 0, or -1 when the lookup failed. */
static int
author_exists(struct dmarc_check *c)
{
	enum dns_status st;

	if (c->exist == NULL)
		return -1;
	st = dns_wait(c->exist);
	if (st == DNS_TEMPERROR || st == DNS_PERMERROR)
		return -1;
	return st != DNS_NXDOMAIN;
}

/* The request that applies: p for the author domain's own record; for
 * an organizational or public suffix domain's record, np when the author
 * domain does not exist (absent: sp), else sp (absent: p). */
static void
pick_request(struct dmarc_check *c, struct verdict *v)
{
	const struct dmarc_record_tags *t = &v->tags;
	enum dmarc_req sub = req_valid(t->sp) ? t->sp : t->p;
	int ex;

	if (strcmp(v->rec->name, c->from) == 0) {
		v->req = t->p;
		return;
	}
	v->req = sub;
	if (c->s.mode == DMARC_MODE_RFC7489 || !req_valid(t->np) ||
	    t->np == sub)
		return;
	if ((ex = author_exists(c)) == 0)
		v->req = t->np;
	else if (ex < 0 && v->result == AR_R_FAIL) {
		v->result = AR_R_TEMPERROR;
		snprintf(v->why, sizeof(v->why),
		         "DNS error looking up %s "
		         "(needed for np=)",
		         c->from);
	}
}

/* One level below (RFC 9989 t=y; RFC 7489 section 6.6.4). */
static enum dmarc_req
one_below(enum dmarc_req r)
{
	return r == DMARC_REQ_REJECT ? DMARC_REQ_QUARANTINE : DMARC_REQ_NONE;
}

/* t=y (RFC 9989 section 4.7) or pct= sampling (RFC 7489 section 6.6.4)
 * on a failing message. */
static void
apply_testing(const struct dmarc_check *c, struct verdict *v)
{
	v->applied = v->req;
	if (v->result != AR_R_FAIL ||
	    (v->req != DMARC_REQ_QUARANTINE && v->req != DMARC_REQ_REJECT))
		return;
	if (c->s.mode == DMARC_MODE_RFC9989)
		v->testing = v->tags.t;
	else
		v->testing = v->tags.pct < 100 &&
		             arc4random_uniform(100) >= (uint32_t)v->tags.pct;
	if (v->testing)
		v->applied = one_below(v->req);
}

static bool
never_reject_domain(const struct dmarc_check *c)
{
	for (size_t i = 0; i < c->s.nnever_reject_domains; i++)
		if (dmarc_record_under(c->from, c->s.never_reject_domains[i]))
			return true;
	return false;
}

/* What to do (the policy key) and why the domain's policy is set aside. */
static void
dispose(const struct dmarc_check *c, struct verdict *v,
        const struct dmarc_auth *a)
{
	if (v->result == AR_R_TEMPERROR || v->result == AR_R_PERMERROR) {
		v->key = v->result == AR_R_TEMPERROR ? POLICY_K_DMARC_TEMPERROR
		                                     : POLICY_K_DMARC_PERMERROR;
		return;
	}
	if (v->result != AR_R_FAIL || v->applied == DMARC_REQ_NONE)
		return;
	if (!c->s.enforce)
		v->override = "report only (verify.dmarc.enforce is false)";
	else if (never_reject_domain(c))
		v->override = "local policy (never_reject_domains)";
	else if (a->client != NULL &&
	         cidr_match_any(c->s.never_reject_networks,
	                        c->s.nnever_reject_networks, a->client))
		v->override = "local policy (never_reject_networks)";
	else if (a->arc_override) {
		v->override = "trusted ARC chain";
		v->key = POLICY_K_ARC_OVERRIDE;
	}
	if (v->override != NULL)
		return;
	v->disp = v->applied == DMARC_REQ_REJECT ? DMARC_DISP_REJECT
	                                         : DMARC_DISP_QUARANTINE;
	v->key = v->applied == DMARC_REQ_REJECT ? POLICY_K_DMARC_REJECT
	                                        : POLICY_K_DMARC_QUARANTINE;
}

/* ---- the result ---- */

/* "(policy from example.com, t=y)": where the policy came from when it
 * is not the author domain, and why it was lowered. */
static void
comment_text(const struct dmarc_check *c, const struct verdict *v, char *out,
             size_t outsz)
{
	size_t n = 0;

	out[0] = '\0';
	if (v->rec != NULL && strcmp(v->rec->name, c->from) != 0)
		n = (size_t)snprintf(out, outsz, "policy from %s",
		                     v->rec->name);
	if (v->testing && n < outsz && c->s.mode == DMARC_MODE_RFC9989)
		snprintf(out + n, outsz - n, "%st=y", n ? ", " : "");
	else if (v->testing && n < outsz)
		snprintf(out + n, outsz - n, "%spct=%d not sampled",
		         n ? ", " : "", v->tags.pct);
}

/* The reply text for a reject, tempfail or quarantine. */
static int
reply_text(const struct dmarc_check *c, const struct verdict *v,
           struct result *r)
{
	const char *pd = v->rec != NULL ? v->rec->name : c->from;
	bool other = strcmp(pd, c->from) != 0;

	if (v->result == AR_R_TEMPERROR)
		return result_reply(r,
		                    "DMARC policy of %s cannot be checked "
		                    "now (%s)",
		                    c->from, v->why);
	if (v->result == AR_R_PERMERROR)
		return result_reply(r, "DMARC record of %s is unusable (%s)",
		                    pd, v->why);
	return result_reply(r, "DMARC policy of %s%s%s: %s", c->from,
	                    other ? " published by " : "", other ? pd : "",
	                    dmarc_req_name(v->applied));
}

/* Add the dmarc result record to rs; 0 or -1. */
static int
emit(const struct dmarc_check *c, const struct verdict *v, struct resultset *rs)
{
	struct result *r = resultset_add(rs, AR_M_DMARC, v->result);
	char comment[DMARC_DOMAIN_MAX + 64];
	int rc = 0;

	if (r == NULL)
		return -1;
	r->key = v->key;
	comment_text(c, v, comment, sizeof(comment));
	if (comment[0] != '\0')
		rc |= result_comment(r, "%s", comment);
	if (v->why[0] != '\0' && v->result != AR_R_PASS)
		rc |= result_reason(r, "%s%s%s", v->why,
		                    v->override ? "; policy override: " : "",
		                    v->override ? v->override : "");
	rc |= result_prop(r, "header", "from", c->from);
	if (v->rec != NULL && req_valid(v->applied) &&
	    (v->result == AR_R_PASS || v->result == AR_R_FAIL))
		rc |= result_prop(r, "policy", "dmarc",
		                  dmarc_req_name(v->applied));
	if (v->key != RESULT_NO_KEY)
		rc |= reply_text(c, v, r);
	return rc != 0 ? -1 : 0;
}

static enum dmarc_disposition
disposition(enum dmarc_req r)
{
	return r == DMARC_REQ_REJECT       ? DMARC_DISP_REJECT
	       : r == DMARC_REQ_QUARANTINE ? DMARC_DISP_QUARANTINE
	                                   : DMARC_DISP_NONE;
}

static void
fill_record(const struct dmarc_check *c, const struct verdict *v,
            struct dmarc_record *rec)
{
	const struct walk *w = &c->author;

	memset(rec, 0, sizeof(*rec));
	snprintf(rec->from_domain, sizeof(rec->from_domain), "%s", c->from);
	if (v->rec != NULL)
		snprintf(rec->policy_domain, sizeof(rec->policy_domain), "%s",
		         v->rec->name);
	if (c->s.mode == DMARC_MODE_RFC7489 && !c->bad_domain)
		snprintf(rec->org_domain, sizeof(rec->org_domain), "%s",
		         c->from + c->psl_org);
	else if (w->run && w->err == NULL)
		snprintf(rec->org_domain, sizeof(rec->org_domain), "%s",
		         w->domain + w->org);
	rec->result = v->result;
	rec->policy = disposition(v->req);
	rec->disposition = v->disp;
	rec->testing = v->testing;
	rec->dkim_aligned = v->dkim_aligned;
	rec->spf_aligned = v->spf_aligned;
	snprintf(rec->reason, sizeof(rec->reason), "%.*s",
	         (int)sizeof(rec->reason) - 1,
	         v->override ? v->override : v->why);
}

/* ---- the interface ---- */

struct dmarc_check *
dmarc_check_start(struct dns *d, const struct dmarc_settings *s,
                  const char *from_domain)
{
	struct dmarc_check *c = calloc(1, sizeof(*c));
	int rc = 0;

	if (c == NULL)
		return NULL;
	c->dns = d;
	c->s = *s;
	if (dmarc_record_domain(from_domain, c->from) != 0) {
		c->bad_domain = true;
		snprintf(c->from, sizeof(c->from), "%s", from_domain);
		return c;
	}
	if (s->mode == DMARC_MODE_RFC7489) {
		c->psl_org =
		    s->psl != NULL ? dmarc_psl_org(s->psl, c->from) : 0;
		rc = lookup_get(c, c->from) == NULL ||
		     (c->psl_org != 0 &&
		      lookup_get(c, c->from + c->psl_org) == NULL);
	} else {
		rc = walk_start(c, &c->author, c->from) != 0 ||
		     (c->exist = dns_start(d, c->from, DNS_T_A)) == NULL;
	}
	if (rc != 0) {
		dmarc_check_free(c);
		return NULL;
	}
	return c;
}

/* Discovery, the record, alignment, the request and testing. */
static int
evaluate(struct dmarc_check *c, struct verdict *v, const struct dmarc_auth *a)
{
	if (c->bad_domain) {
		v->result = AR_R_PERMERROR;
		snprintf(v->why, sizeof(v->why),
		         "the From domain is not a "
		         "usable DNS name");
		return 0;
	}
	if ((c->s.mode == DMARC_MODE_RFC7489 ? discover_7489(c, v)
	                                     : discover_9989(c, v)) != 0)
		return -1;
	if (v->result != AR_R_NONE || v->rec == NULL)
		return 0;
	record_tags(c, v);
	if (v->result != AR_R_NONE)
		return 0;
	if (check_alignment(c, v, a) != 0)
		return -1;
	pick_request(c, v);
	apply_testing(c, v);
	return 0;
}

int
dmarc_check_finish(struct dmarc_check *c, const struct dmarc_auth *a,
                   struct resultset *rs, struct dmarc_record *rec)
{
	struct verdict v;

	memset(&v, 0, sizeof(v));
	v.result = AR_R_NONE;
	v.key = RESULT_NO_KEY;
	if (evaluate(c, &v, a) != 0)
		return -1;
	dispose(c, &v, a);
	if (rec != NULL)
		fill_record(c, &v, rec);
	return emit(c, &v, rs);
}

int
dmarc_check_bad_from(const struct hdr_from *f, struct resultset *rs)
{
	struct result *r = resultset_add(rs, AR_M_DMARC, AR_R_PERMERROR);

	if (r == NULL)
		return -1;
	r->key = POLICY_K_DMARC_BAD_FROM;
	if (result_reason(r, "%s", f->why) != 0 ||
	    result_reply(r, "%s: DMARC cannot pass", f->why) != 0)
		return -1;
	return 0;
}

void
dmarc_check_free(struct dmarc_check *c)
{
	if (c == NULL)
		return;
	for (size_t i = 0; i < c->nlk; i++)
		lookup_free(c->lk[i]);
	free(c->lk);
	dns_query_free(c->exist);
	free(c->idw);
	free(c);
}
