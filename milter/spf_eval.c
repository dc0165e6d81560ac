/*
 * spf_eval: check_host() of RFC 7208 (see spf_eval.h).
 *
 * One struct ev holds the state of one evaluation: the identity and
 * macro values, the counters of the limits (shared by every nested
 * include and redirect, 4.1 and 4.6.4), and the validated PTR names of
 * the client, computed at most once for the ptr mechanism and %{p}.
 * check_host() recurses for include and redirect; the term limit bounds
 * the depth to SPF_EVAL_MAX_TERMS + 1 levels.
 *
 * A mechanism yields MATCH, NOMATCH or ERROR; ERROR carries its result
 * (temperror or permerror) in ev->error and the first error's text in the
 * outcome's reason, which is what the innermost failure said.
 */
#include "config.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "clock.h"
#include "spf_eval.h"
#include "spf_record.h"

#define NAME_SIZE 256 /* a target name: 253 characters and a NUL */

enum match { NOMATCH, MATCH, ERROR };

/* Where the explanation of a fail comes from (6.2). */
struct expref {
	bool set;
	char spec[SPF_EVAL_EXP_MAX + 1]; /* the exp= domain-spec */
	char domain[NAME_SIZE];          /* <domain> of its record */
};

struct ev {
	const struct spf_lookup *lk;
	const struct spf_eval_request *rq;
	struct spf_eval_outcome *out;
	struct ipaddr ip; /* IPv4-mapped addresses unwrapped */
	char local[SPF_EVAL_SENDER_MAX + 1];
	char ip_dots[80]; /* %{i} */
	char ip_text[64]; /* %{c} */
	char now[24];     /* %{t} */
	enum spf_eval_result error;
	bool nomem;
	bool ptr_done; /* the client's PTR names are validated */
	bool ptr_void; /* its PTR lookup was void */
	size_t nptr;
	char ptr[SPF_EVAL_MAX_PTR][NAME_SIZE];
};

static const struct dns_answer nomem_answer = {
    .status = DNS_TEMPERROR,
    .why = "out of memory",
};

static const char *const result_names[] = {
    [SPF_EVAL_NONE] = "none",           [SPF_EVAL_NEUTRAL] = "neutral",
    [SPF_EVAL_PASS] = "pass",           [SPF_EVAL_FAIL] = "fail",
    [SPF_EVAL_SOFTFAIL] = "softfail",   [SPF_EVAL_TEMPERROR] = "temperror",
    [SPF_EVAL_PERMERROR] = "permerror",
};

const char *
spf_eval_result_name(enum spf_eval_result r)
{
	return (unsigned)r < sizeof(result_names) / sizeof(result_names[0])
	           ? result_names[r]
	           : "unknown";
}

/* ---- errors and limits -------------------------------------------- */

/* Make r (temperror or permerror) the outcome of the current step; the
 * first reason given is kept. */
__attribute__((format(printf, 3, 4))) static enum match
fail_step(struct ev *ev, enum spf_eval_result r, const char *fmt, ...)
{
	va_list ap;

	ev->error = r;
	if (ev->out->reason[0] == '\0') {
		va_start(ap, fmt);
		vsnprintf(ev->out->reason, sizeof(ev->out->reason), fmt, ap);
		va_end(ap);
	}
	return ERROR;
}

static bool
past_deadline(const struct ev *ev)
{
	return clock_ms() >= ev->rq->deadline_ms;
}

/* Count one DNS-querying term; false (permerror) past the limit. */
static bool
count_term(struct ev *ev)
{
	if (++ev->out->dns_terms <= SPF_EVAL_MAX_TERMS)
		return true;
	fail_step(ev, SPF_EVAL_PERMERROR, "more than %d DNS-querying terms",
	          SPF_EVAL_MAX_TERMS);
	return false;
}

/* Count one void lookup; false (permerror) past the limit. */
static bool
count_void(struct ev *ev)
{
	if (++ev->out->void_lookups <= SPF_EVAL_MAX_VOID)
		return true;
	fail_step(ev, SPF_EVAL_PERMERROR, "more than %d void lookups",
	          SPF_EVAL_MAX_VOID);
	return false;
}

/* ---- lookups ------------------------------------------------------ */

static void *
q_start(struct ev *ev, const char *name, uint16_t type)
{
	void *q = ev->lk->start(ev->lk->ctx, name, type);

	if (q == NULL)
		ev->nomem = true;
	return q;
}

static const struct dns_answer *
q_wait(struct ev *ev, void *q)
{
	if (q == NULL)
		return &nomem_answer;
	return ev->lk->wait(ev->lk->ctx, q, ev->rq->deadline_ms);
}

static void
q_release(struct ev *ev, void *q)
{
	if (q != NULL)
		ev->lk->release(ev->lk->ctx, q);
}

static const char *
type_name(uint16_t t)
{
	switch (t) {
	case DNS_T_A:
		return "A";
	case DNS_T_AAAA:
		return "AAAA";
	case DNS_T_MX:
		return "MX";
	case DNS_T_PTR:
		return "PTR";
	default:
		return "TXT";
	}
}

/* temperror for a failed lookup (4.4, section 5: any RCODE but 0 or 3). */
static enum match
dns_error(struct ev *ev, const struct dns_answer *a, const char *name,
          uint16_t type)
{
	if (past_deadline(ev))
		return fail_step(ev, SPF_EVAL_TEMPERROR,
		                 "evaluation deadline passed");
	return fail_step(ev, SPF_EVAL_TEMPERROR, "DNS %s for %s %.100s",
	                 a->why != NULL && a->why[0] != '\0' ? a->why : "error",
	                 type_name(type), name);
}

static bool
is_void(const struct dns_answer *a)
{
	return a->status == DNS_NXDOMAIN || a->status == DNS_NODATA ||
	       (a->status == DNS_OK && a->nrr == 0);
}

static bool
is_error(const struct dns_answer *a)
{
	return a->status == DNS_TEMPERROR || a->status == DNS_PERMERROR;
}

/* ---- names -------------------------------------------------------- */

/* Whether name can be looked up: labels of 1..63 bytes, 253 in all, and
 * printable ASCII or SP ("%_" expands to one, and a label may hold any
 * octet) but no '\\', which libunbound would read as an escape.  dns.c
 * refuses SP today; such a lookup then fails as DNS_PERMERROR. */
static bool
name_queryable(const char *name)
{
	size_t n = strlen(name), label = 0;

	if (n > 0 && name[n - 1] == '.')
		n--;
	if (n == 0 || n > SPF_RECORD_DOMAIN_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)name[i];

		if (c < 0x20 || c > 0x7e || c == '\\')
			return false;
		if (c != '.' && ++label > 63)
			return false;
		if (c == '.') {
			if (label == 0)
				return false;
			label = 0;
		}
	}
	return label > 0;
}

/* A well-formed <domain> (4.3): queryable without SP, two labels at
 * least, and a valid top label. */
static bool
domain_valid(const char *d)
{
	size_t n = strlen(d);
	const char *dot;

	if (!name_queryable(d) || strchr(d, ' ') != NULL)
		return false;
	if (d[n - 1] == '.')
		n--;
	dot = memrchr(d, '.', n);
	return dot != NULL &&
	       spf_record_toplabel_ok(dot + 1, (size_t)(d + n - dot - 1));
}

/* Whether name equals domain or lies below it (5.5), ignoring case and a
 * final dot on either. */
static bool
name_within(const char *name, const char *domain)
{
	size_t n = strlen(name), d = strlen(domain);

	if (n > 0 && name[n - 1] == '.')
		n--;
	if (d > 0 && domain[d - 1] == '.')
		d--;
	if (d == 0 || n < d || strncasecmp(name + n - d, domain, d) != 0)
		return false;
	return n == d || name[n - d - 1] == '.';
}

/* ---- the client's validated names (5.5, %{p}) --------------------- */

/* Whether an address answer holds the client address. */
static bool
answer_has_ip(const struct dns_answer *a, const struct ipaddr *ip)
{
	size_t alen = ip->family == AF_INET ? 4 : 16;

	if (a->status != DNS_OK)
		return false;
	for (size_t i = 0; i < a->nrr; i++)
		if (a->rr[i].len == alen &&
		    memcmp(a->rr[i].data, ip->addr, alen) == 0)
			return true;
	return false;
}

/* Keep the names of the PTR answer whose addresses include the client:
 * the first SPF_EVAL_MAX_PTR names, looked up together; a name whose
 * lookup fails is skipped (5.5). */
static void
validate_names(struct ev *ev, const struct dns_answer *a)
{
	uint16_t type = ev->ip.family == AF_INET ? DNS_T_A : DNS_T_AAAA;
	char names[SPF_EVAL_MAX_PTR][NAME_SIZE];
	void *q[SPF_EVAL_MAX_PTR];
	size_t n = 0;

	for (size_t i = 0; i < a->nrr && n < SPF_EVAL_MAX_PTR; i++) {
		if (dns_rr_name(a->rr[i].data, a->rr[i].len, names[n],
		                sizeof(names[n])) != 0 ||
		    !name_queryable(names[n]))
			continue;
		q[n] = q_start(ev, names[n], type);
		n++;
	}
	for (size_t i = 0; i < n; i++) {
		if (answer_has_ip(q_wait(ev, q[i]), &ev->ip))
			memcpy(ev->ptr[ev->nptr++], names[i], NAME_SIZE);
		q_release(ev, q[i]);
	}
}

/* Look up and validate the client's PTR names once per evaluation; a
 * failed PTR lookup leaves none (5.5, 7.3). */
static void
ptr_names(struct ev *ev)
{
	char rname[DNS_NAME_MAX];
	const struct dns_answer *a;
	void *q;

	if (ev->ptr_done)
		return;
	ev->ptr_done = true;
	if (dns_reverse_name(ev->ip_text, rname, sizeof(rname)) != 0)
		return;
	q = q_start(ev, rname, DNS_T_PTR);
	a = q_wait(ev, q);
	ev->ptr_void = is_void(a);
	if (a->status == DNS_OK)
		validate_names(ev, a);
	q_release(ev, q);
}

/* %{p} for <domain>: the domain itself if validated, else a name below
 * it, else any validated name, else "unknown" (7.3). */
static const char *
p_value(struct ev *ev, const char *domain)
{
	ptr_names(ev);
	for (size_t i = 0; i < ev->nptr; i++)
		if (strcasecmp(ev->ptr[i], domain) == 0)
			return ev->ptr[i];
	for (size_t i = 0; i < ev->nptr; i++)
		if (name_within(ev->ptr[i], domain))
			return ev->ptr[i];
	return ev->nptr > 0 ? ev->ptr[0] : "unknown";
}

/* ---- macros ------------------------------------------------------- */

/* Expand spec for <domain> into out; SPF_RECORD_* codes. */
static int
expand(struct ev *ev, const char *spec, const char *domain,
       enum spf_macro_ctx ctx, struct buf *out)
{
	unsigned letters = spf_record_macro_letters(spec);
	bool v4 = ev->ip.family == AF_INET;
	struct spf_macro_env env = {
	    .s = ev->out->sender,
	    .l = ev->local,
	    .o = ev->out->domain,
	    .d = domain,
	    .i = ev->ip_dots,
	    .h = ev->rq->helo,
	    .c = ev->ip_text,
	    .r = ev->rq->receiver,
	    .t = ev->now,
	    .v = v4 ? "in-addr" : "ip6",
	};
	int rc;

	if (letters & SPF_MACRO_BIT('p'))
		env.p = p_value(ev, domain);
	if (ctx != SPF_MACRO_EXPLAIN &&
	    (letters & (SPF_MACRO_BIT('s') | SPF_MACRO_BIT('l'))))
		ev->out->local_part_used = true;
	rc = spf_record_expand(spec, &env, ctx, out);
	if (rc == SPF_RECORD_ENOMEM)
		ev->nomem = true;
	return rc;
}

/* The <target-name> of a term: its expanded domain-spec, or <domain>.
 * 1, 0 when it cannot be expanded to a name, -1 when out of memory. */
static int
target_name(struct ev *ev, const struct spf_term *t, const char *domain,
            char *out)
{
	struct buf b;
	int rc;

	if (t->spec == NULL) {
		snprintf(out, NAME_SIZE, "%s", domain);
		return 1;
	}
	buf_init(&b, 0);
	rc = expand(ev, t->spec, domain, SPF_MACRO_DOMAIN, &b);
	out[0] = '\0';
	if (rc == SPF_RECORD_OK && b.len < NAME_SIZE)
		memcpy(out, buf_cstr(&b), b.len + 1);
	buf_free(&b);
	if (rc == SPF_RECORD_ENOMEM)
		return -1;
	return rc == SPF_RECORD_OK && out[0] != '\0' ? 1 : 0;
}

/* ---- mechanisms (section 5) --------------------------------------- */

/* Whether the first bits of addr equal those of net. */
static bool
prefix_match(const unsigned char *addr, const unsigned char *net, unsigned bits)
{
	unsigned full = bits / 8, rest = bits % 8;
	unsigned char mask = (unsigned char)(0xff00 >> rest);

	if (memcmp(addr, net, full) != 0)
		return false;
	return rest == 0 || ((addr[full] ^ net[full]) & mask) == 0;
}

/* Whether an A/AAAA answer holds an address within the term's CIDR. */
static bool
answer_matches(const struct ev *ev, const struct dns_answer *a,
               const struct spf_term *t)
{
	bool v4 = ev->ip.family == AF_INET;
	size_t alen = v4 ? 4 : 16;

	for (size_t i = 0; i < a->nrr; i++)
		if (a->rr[i].len == alen &&
		    prefix_match(a->rr[i].data, ev->ip.addr,
		                 v4 ? t->cidr4 : t->cidr6))
			return true;
	return false;
}

static uint16_t
addr_type(const struct ev *ev)
{
	return ev->ip.family == AF_INET ? DNS_T_A : DNS_T_AAAA;
}

/* a (5.3) and exists (5.7). */
static enum match
mech_a(struct ev *ev, const struct spf_term *t, const char *name)
{
	uint16_t type = t->kind == SPF_REC_EXISTS ? DNS_T_A : addr_type(ev);
	void *q = q_start(ev, name, type);
	const struct dns_answer *a = q_wait(ev, q);
	enum match m = NOMATCH;

	if (is_error(a))
		m = dns_error(ev, a, name, type);
	else if (is_void(a))
		m = count_void(ev) ? NOMATCH : ERROR;
	else if (t->kind == SPF_REC_EXISTS || answer_matches(ev, a, t))
		m = MATCH;
	q_release(ev, q);
	return m;
}

/* The address answer for one MX name. */
static enum match
mx_host(struct ev *ev, const struct spf_term *t, const char *name,
        const struct dns_answer *a, size_t *nvoid)
{
	if (is_error(a))
		return dns_error(ev, a, name, addr_type(ev));
	if (is_void(a)) {
		(*nvoid)++;
		return NOMATCH;
	}
	return answer_matches(ev, a, t) ? MATCH : NOMATCH;
}

/* The addresses of the MX names, started together, checked in order. */
static enum match
mx_hosts(struct ev *ev, const struct spf_term *t, const struct dns_answer *mx)
{
	char names[SPF_EVAL_MAX_MX][NAME_SIZE];
	void *q[SPF_EVAL_MAX_MX];
	size_t n = 0, nvoid = 0;
	enum match m = NOMATCH;

	for (size_t i = 0; i < mx->nrr && n < SPF_EVAL_MAX_MX; i++)
		if (mx->rr[i].len > 2 &&
		    dns_rr_name(mx->rr[i].data + 2, mx->rr[i].len - 2, names[n],
		                NAME_SIZE) == 0 &&
		    name_queryable(names[n])) {
			q[n] = q_start(ev, names[n], addr_type(ev));
			n++;
		}
	for (size_t i = 0; i < n; i++) {
		/* Once decided, the rest are released unanswered. */
		if (m == NOMATCH)
			m = mx_host(ev, t, names[i], q_wait(ev, q[i]), &nvoid);
		q_release(ev, q[i]);
	}
	/* A term whose every lookup came back empty is a void one. */
	if (m == NOMATCH && n > 0 && nvoid == n && !count_void(ev))
		m = ERROR;
	return m;
}

/* mx (5.4): more than SPF_EVAL_MAX_MX names is permerror (4.6.4). */
static enum match
mech_mx(struct ev *ev, const struct spf_term *t, const char *name)
{
	void *q = q_start(ev, name, DNS_T_MX);
	const struct dns_answer *a = q_wait(ev, q);
	enum match m;

	if (is_error(a))
		m = dns_error(ev, a, name, DNS_T_MX);
	else if (is_void(a))
		m = count_void(ev) ? NOMATCH : ERROR;
	else if (a->nrr > SPF_EVAL_MAX_MX)
		m = fail_step(ev, SPF_EVAL_PERMERROR,
		              "more than %d MX records at %.100s",
		              SPF_EVAL_MAX_MX, name);
	else
		m = mx_hosts(ev, t, a);
	q_release(ev, q);
	return m;
}

/* ptr (5.5): a validated name equal to or below the target. */
static enum match
mech_ptr(struct ev *ev, const char *name)
{
	ptr_names(ev);
	if (ev->ptr_void && !count_void(ev))
		return ERROR;
	for (size_t i = 0; i < ev->nptr; i++)
		if (name_within(ev->ptr[i], name))
			return MATCH;
	return NOMATCH;
}

/* ip4 / ip6 (5.6): only against a client of the same family. */
static enum match
mech_ip(const struct ev *ev, const struct spf_term *t)
{
	if (t->kind == SPF_REC_IP4)
		return ev->ip.family == AF_INET &&
		               prefix_match(ev->ip.addr, t->net, t->cidr4)
		           ? MATCH
		           : NOMATCH;
	return ev->ip.family == AF_INET6 &&
	               prefix_match(ev->ip.addr, t->net, t->cidr6)
	           ? MATCH
	           : NOMATCH;
}

static enum spf_eval_result check_host(struct ev *ev, const char *domain,
                                       struct expref *x);

/* include (5.2): only pass matches; none is permerror. */
static enum match
mech_include(struct ev *ev, const char *name)
{
	struct expref *scratch = calloc(1, sizeof(*scratch));
	enum spf_eval_result r;

	if (scratch == NULL) {
		ev->nomem = true;
		return fail_step(ev, SPF_EVAL_TEMPERROR, "out of memory");
	}
	r = check_host(ev, name, scratch); /* its exp= is not used (6.2) */
	free(scratch);
	switch (r) {
	case SPF_EVAL_PASS:
		return MATCH;
	case SPF_EVAL_FAIL:
	case SPF_EVAL_SOFTFAIL:
	case SPF_EVAL_NEUTRAL:
		return NOMATCH;
	case SPF_EVAL_NONE:
		return fail_step(ev, SPF_EVAL_PERMERROR,
		                 "include:%.100s has no SPF record", name);
	default:
		ev->error = r;
		return ERROR;
	}
}

/* Evaluate one mechanism for <domain>. */
static enum match
mechanism(struct ev *ev, const struct spf_term *t, const char *domain)
{
	char name[NAME_SIZE];
	int rc;

	if (t->kind == SPF_REC_ALL)
		return MATCH;
	if (t->kind == SPF_REC_IP4 || t->kind == SPF_REC_IP6)
		return mech_ip(ev, t);
	if (!count_term(ev))
		return ERROR;
	if (past_deadline(ev))
		return fail_step(ev, SPF_EVAL_TEMPERROR,
		                 "evaluation deadline passed");
	if ((rc = target_name(ev, t, domain, name)) < 0)
		return fail_step(ev, SPF_EVAL_TEMPERROR, "out of memory");
	if (t->kind == SPF_REC_INCLUDE)
		return rc == 0
		           ? fail_step(ev, SPF_EVAL_PERMERROR,
		                       "include:%.100s: bad domain", t->spec)
		           : mech_include(ev, name);
	if (rc == 0 || !name_queryable(name))
		return NOMATCH; /* 4.8: an unusable target does not match */
	switch (t->kind) {
	case SPF_REC_MX:
		return mech_mx(ev, t, name);
	case SPF_REC_PTR:
		return mech_ptr(ev, name);
	default:
		return mech_a(ev, t, name);
	}
}

/* ---- records (sections 4.4 to 4.7, 6) ----------------------------- */

/* Parse the selected record text into *rec: SPF_EVAL_PASS or
 * permerror (syntax) / temperror (memory). */
static enum spf_eval_result
parse_record(struct ev *ev, const char *domain, const struct buf *b,
             struct spf_record **rec)
{
	struct errbuf eb;
	int rc = spf_record_parse(b->data, b->len, rec, &eb);

	if (rc == SPF_RECORD_OK)
		return SPF_EVAL_PASS;
	if (rc == SPF_RECORD_ENOMEM) {
		ev->nomem = true;
		fail_step(ev, SPF_EVAL_TEMPERROR, "out of memory");
	} else
		fail_step(ev, SPF_EVAL_PERMERROR, "SPF record of %.80s: %.60s",
		          domain, eb.msg);
	return ev->error;
}

/* Fetch and parse the one SPF record of <domain> (4.4, 4.5):
 * SPF_EVAL_PASS with *rec set, or the result to return. */
static enum spf_eval_result
fetch_record(struct ev *ev, const char *domain, struct spf_record **rec)
{
	void *q = q_start(ev, domain, DNS_T_TXT);
	const struct dns_answer *a = q_wait(ev, q);
	enum spf_eval_result r = SPF_EVAL_NONE;
	size_t found = 0, which = 0;
	struct buf b;
	bool oom = false;
	int txt;

	buf_init(&b, 0);
	for (size_t i = 0; a->status == DNS_OK && i < a->nrr; i++) {
		if ((txt = dns_rr_txt(&a->rr[i], &b)) == -2)
			oom = true;
		if (txt == 0 && spf_record_is_spf(b.data, b.len) &&
		    found++ == 0)
			which = i;
	}
	if (oom) {
		fail_step(ev, SPF_EVAL_TEMPERROR, "out of memory");
		r = ev->error;
	} else if (is_error(a)) {
		dns_error(ev, a, domain, DNS_T_TXT);
		r = ev->error;
	} else if (found > 1) {
		fail_step(ev, SPF_EVAL_PERMERROR,
		          "more than one SPF record at %.100s", domain);
		r = ev->error;
	} else if (found == 1 && dns_rr_txt(&a->rr[which], &b) != 0) {
		fail_step(ev, SPF_EVAL_TEMPERROR, "out of memory");
		r = ev->error;
	} else if (found == 1) {
		r = parse_record(ev, domain, &b, rec);
	}
	buf_free(&b);
	q_release(ev, q);
	return r;
}

static enum spf_eval_result
qualifier_result(char q)
{
	switch (q) {
	case '-':
		return SPF_EVAL_FAIL;
	case '~':
		return SPF_EVAL_SOFTFAIL;
	case '?':
		return SPF_EVAL_NEUTRAL;
	default:
		return SPF_EVAL_PASS;
	}
}

/* redirect (6.1): the target's result, none and bad names permerror. */
static enum spf_eval_result
redirect(struct ev *ev, const struct spf_term *t, const char *domain,
         struct expref *x)
{
	char name[NAME_SIZE];
	enum spf_eval_result r;
	int rc;

	if (!count_term(ev))
		return ev->error;
	if ((rc = target_name(ev, t, domain, name)) < 0)
		return SPF_EVAL_TEMPERROR;
	if (rc == 0 || !domain_valid(name)) {
		fail_step(ev, SPF_EVAL_PERMERROR, "redirect=%.100s: bad domain",
		          t->spec);
		return SPF_EVAL_PERMERROR;
	}
	r = check_host(ev, name, x);
	if (r == SPF_EVAL_NONE) {
		fail_step(ev, SPF_EVAL_PERMERROR,
		          "redirect=%.100s has no SPF record", name);
		return SPF_EVAL_PERMERROR;
	}
	return r;
}

/* Note where the explanation of a fail at this record comes from. */
static void
note_exp(struct expref *x, const struct spf_record *rec, const char *domain)
{
	x->set = rec->exp != NULL && strlen(rec->exp->spec) < sizeof(x->spec);
	if (x->set) {
		snprintf(x->spec, sizeof(x->spec), "%s", rec->exp->spec);
		snprintf(x->domain, sizeof(x->domain), "%s", domain);
	}
}

/* Evaluate the terms of a record left to right (4.6, 4.7). */
static enum spf_eval_result
evaluate(struct ev *ev, const struct spf_record *rec, const char *domain,
         struct expref *x)
{
	for (size_t i = 0; i < rec->nterms; i++) {
		const struct spf_term *t = &rec->terms[i];
		enum spf_eval_result r;

		if (t->kind == SPF_REC_REDIRECT || t->kind == SPF_REC_EXP ||
		    t->kind == SPF_REC_MODIFIER)
			continue;
		switch (mechanism(ev, t, domain)) {
		case ERROR:
			return ev->error;
		case NOMATCH:
			continue;
		case MATCH:
			break;
		}
		r = qualifier_result(t->qualifier);
		snprintf(ev->out->mechanism, sizeof(ev->out->mechanism), "%s",
		         t->text);
		if (r == SPF_EVAL_FAIL)
			note_exp(x, rec, domain);
		return r;
	}
	if (rec->redirect != NULL && !rec->has_all)
		return redirect(ev, rec->redirect, domain, x);
	return SPF_EVAL_NEUTRAL;
}

/* check_host(<ip>, <domain>, <sender>) of section 4. */
static enum spf_eval_result
check_host(struct ev *ev, const char *domain, struct expref *x)
{
	struct spf_record *rec = NULL;
	enum spf_eval_result r;

	if (!domain_valid(domain))
		return SPF_EVAL_NONE;
	if (past_deadline(ev)) {
		fail_step(ev, SPF_EVAL_TEMPERROR, "evaluation deadline passed");
		return SPF_EVAL_TEMPERROR;
	}
	if ((r = fetch_record(ev, domain, &rec)) != SPF_EVAL_PASS)
		return r;
	r = evaluate(ev, rec, domain, x);
	spf_record_free(rec);
	return r;
}

/* ---- explanation (6.2) -------------------------------------------- */

/* Expand the fetched explain-string into the outcome. */
static void
explain_text(struct ev *ev, const struct expref *x, const struct buf *txt)
{
	struct buf b;

	if (spf_record_check_macro(txt->data, txt->len, SPF_MACRO_EXPLAIN,
	                           NULL) != SPF_RECORD_OK)
		return;
	buf_init(&b, SPF_EVAL_EXP_MAX);
	if (expand(ev, txt->data, x->domain, SPF_MACRO_EXPLAIN, &b) ==
	    SPF_RECORD_OK)
		snprintf(ev->out->explanation, sizeof(ev->out->explanation),
		         "%s", buf_cstr(&b));
	buf_free(&b);
}

/* The exp= text for a fail: exactly one TXT record at the expanded name;
 * any problem leaves it empty (6.2). */
static void
explain(struct ev *ev, const struct expref *x)
{
	const struct dns_answer *a;
	struct buf name, txt;
	void *q;

	if (!x->set || past_deadline(ev))
		return;
	buf_init(&name, 0);
	buf_init(&txt, 0);
	if (expand(ev, x->spec, x->domain, SPF_MACRO_DOMAIN, &name) ==
	        SPF_RECORD_OK &&
	    name_queryable(buf_cstr(&name))) {
		q = q_start(ev, buf_cstr(&name), DNS_T_TXT);
		a = q_wait(ev, q);
		if (a->status == DNS_OK && a->nrr == 1 &&
		    dns_rr_txt(&a->rr[0], &txt) == 0)
			explain_text(ev, x, &txt);
		q_release(ev, q);
	}
	buf_free(&name);
	buf_free(&txt);
}

/* ---- the identity ------------------------------------------------- */

/* %{i}: dotted quad, or 32 dotted nibbles for IPv6 (7.3). */
static void
ip_macros(struct ev *ev)
{
	static const char hex[] = "0123456789abcdef";
	char *p = ev->ip_dots;

	inet_ntop(ev->ip.family, ev->ip.addr, ev->ip_text, sizeof(ev->ip_text));
	if (ev->ip.family == AF_INET) {
		memcpy(ev->ip_dots, ev->ip_text, sizeof(ev->ip_text));
		return;
	}
	for (size_t i = 0; i < 16; i++) {
		*p++ = hex[ev->ip.addr[i] >> 4];
		*p++ = '.';
		*p++ = hex[ev->ip.addr[i] & 15];
		*p++ = i < 15 ? '.' : '\0';
	}
}

/* The client address, an IPv4-mapped IPv6 one as IPv4 (section 5). */
static bool
set_ip(struct ev *ev, const struct ipaddr *ip)
{
	static const unsigned char mapped[12] = {0, 0, 0, 0, 0,    0,
	                                         0, 0, 0, 0, 0xff, 0xff};

	ev->ip = *ip;
	if (ip->family == AF_INET6 && memcmp(ip->addr, mapped, 12) == 0) {
		ev->ip.family = AF_INET;
		memmove(ev->ip.addr, ip->addr + 12, 4);
	}
	if (ev->ip.family != AF_INET && ev->ip.family != AF_INET6)
		return false;
	ip_macros(ev);
	return true;
}

/* <sender>, its local-part and <domain> (2.4, 4.3): the null sender is
 * postmaster@<HELO>, an empty local-part "postmaster". */
static bool
set_identity(struct ev *ev, const char *sender, const char *helo)
{
	const char *at = strrchr(sender, '@');
	const char *dom = sender[0] == '\0' ? helo
	                  : at != NULL      ? at + 1
	                                    : sender;
	size_t llen = at != NULL ? (size_t)(at - sender) : 0;
	size_t dlen = strlen(dom);

	if (llen > SPF_EVAL_SENDER_MAX || dlen >= sizeof(ev->out->domain))
		return false;
	if (dlen > 0 && dom[dlen - 1] == '.')
		dlen--;
	memcpy(ev->out->domain, dom, dlen);
	ev->out->domain[dlen] = '\0';
	if (llen == 0)
		snprintf(ev->local, sizeof(ev->local), "postmaster");
	else {
		memcpy(ev->local, sender, llen);
		ev->local[llen] = '\0';
	}
	snprintf(ev->out->sender, sizeof(ev->out->sender), "%s@%s", ev->local,
	         ev->out->domain);
	return true;
}

int
spf_eval_check_host(const struct spf_lookup *lk,
                    const struct spf_eval_request *rq,
                    struct spf_eval_outcome *out)
{
	struct ev *ev = calloc(1, sizeof(*ev));
	struct expref *x = calloc(1, sizeof(*x));
	int rc = 0;

	memset(out, 0, sizeof(*out));
	out->result = SPF_EVAL_TEMPERROR;
	if (ev == NULL || x == NULL) {
		snprintf(out->reason, sizeof(out->reason), "out of memory");
		free(ev);
		free(x);
		return -1;
	}
	ev->lk = lk;
	ev->rq = rq;
	ev->out = out;
	snprintf(ev->now, sizeof(ev->now), "%lld", (long long)rq->now);
	if (!set_ip(ev, &rq->ip) ||
	    !set_identity(ev, rq->sender, rq->helo != NULL ? rq->helo : ""))
		out->result = SPF_EVAL_NONE;
	else
		out->result = check_host(ev, out->domain, x);
	if (out->result == SPF_EVAL_FAIL && !ev->nomem)
		explain(ev, x);
	if (ev->nomem) {
		out->result = SPF_EVAL_TEMPERROR;
		snprintf(out->reason, sizeof(out->reason), "out of memory");
		rc = -1;
	}
	free(ev);
	free(x);
	return rc;
}
