/*
 * arcq: ARC validation (and optionally sealing) of one message file
 * through arc_verify.c / arc_seal.c, for script tests.
 *
 *   arcq [-s IP@PORT]... [-t DNS_TIMEOUT_MS] [-c UNBOUND_CONF]
 *        [-i CLIENT_IP] [-n NOW] MESSAGE
 *   arcq ... -k KEYFILE -d DOMAIN -S SELECTOR -T TIME
 *        (-r SRV_ID | -R AUTHRES) [-h NAME:NAME...] [-o NAME:NAME...]
 *        [-a] MESSAGE
 *
 * The message file (LF or CRLF lines) is read as the milter would see
 * it: header fields into a struct hdr (each ARC field handed to
 * arc_verify_field() as it is kept), the body through the shared body
 * hash set.  Keys come through keycache.c and dns.c from the given
 * servers.  NOW (default: the clock) is the time t=/x= are checked
 * against.  Prints "key: value" lines:
 *
 *   arc: none|pass|fail
 *   reason: TEXT                   (fail)
 *   instances: N
 *   oldest-pass: N                 (pass)
 *   can-seal: yes|no
 *   sealer.I: DOMAIN               (pass; each instance)
 *   aar.I: AUTHSERV-ID METHOD=RESULT ...   (pass; each instance)
 *   ar: arc=...                    (the Authentication-Results resinfo)
 *
 * With -k it then seals the message with that key, d=, s= and t=: the AAR
 * carries -R AUTHRES, or the message's Authentication-Results fields whose
 * authserv-id is SRV_ID merged into one (what the ARC test suite's
 * srv-id asks); h= lists the -h names (default From:To:Subject:Date:
 * Message-ID) and -o oversigns; -a writes the ARC test suite's layout
 * (struct arc_seal_params.suite_layout).
 * Prints "sealed: yes|no" and, when sealed, the three fields as header
 * lines ("Name:value", continuation lines starting with a tab).
 * Exit 0, or 2 with a message on stderr when setup fails.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "arc_seal.h"
#include "arc_set.h"
#include "arc_verify.h"
#include "authres.h"
#include "buf.h"
#include "dns.h"
#include "errbuf.h"
#include "hash.h"
#include "hdr.h"
#include "keycache.h"
#include "pkey.h"
#include "result.h"

#define MAX_SERVERS 16
#define MAX_NAMES   64
#define MSG_MAX     (64 * 1024 * 1024)

struct opts {
	const char *servers[MAX_SERVERS];
	struct dns_settings s;
	const char *client_ip;
	time_t now;
	const char *keyfile, *srv_id, *authres;
	struct arc_seal_params p;
	char *names[MAX_NAMES], *over[MAX_NAMES];
	char *hlist, *olist;
};

static int
usage(void)
{
	fprintf(
	    stderr,
	    "usage: arcq [-s IP@PORT]... [-t DNS_TIMEOUT_MS] [-c UNBOUND_CONF] "
	    "[-i CLIENT_IP] [-n NOW]\n"
	    "            [-k KEYFILE -d DOMAIN -S SELECTOR -T TIME "
	    "(-r SRV_ID | -R AUTHRES)\n"
	    "             [-h NAMES] [-o NAMES] [-a]] MESSAGE\n");
	return 2;
}

/* Split a colon-separated list in place into v (at most MAX_NAMES). */
static size_t
split_names(char *list, char **v)
{
	size_t n = 0;

	for (char *p = list; p != NULL && *p != '\0' && n < MAX_NAMES;) {
		char *c = strchr(p, ':');

		if (c != NULL)
			*c = '\0';
		if (*p != '\0')
			v[n++] = p;
		p = c != NULL ? c + 1 : NULL;
	}
	return n;
}

static int
parse_opt(struct opts *o, int ch)
{
	switch (ch) {
	case 's':
		if (o->s.nservers == MAX_SERVERS)
			return -1;
		o->servers[o->s.nservers++] = optarg;
		return 0;
	case 't':
		o->s.timeout_ms = (unsigned)strtoul(optarg, NULL, 10);
		return 0;
	case 'c':
		o->s.unbound_config = optarg;
		return 0;
	case 'i':
		o->client_ip = optarg;
		return 0;
	case 'n':
		o->now = (time_t)strtoll(optarg, NULL, 10);
		return 0;
	case 'k':
		o->keyfile = optarg;
		return 0;
	case 'd':
		o->p.domain = optarg;
		return 0;
	case 'S':
		o->p.selector = optarg;
		return 0;
	case 'T':
		o->p.now = (time_t)strtoll(optarg, NULL, 10);
		return 0;
	case 'r':
		o->srv_id = optarg;
		return 0;
	case 'R':
		o->authres = optarg;
		return 0;
	case 'h':
		o->hlist = optarg;
		return 0;
	case 'o':
		o->olist = optarg;
		return 0;
	case 'a':
		o->p.suite_layout = true;
		return 0;
	default:
		return -1;
	}
}

static int
parse_opts(int argc, char **argv, struct opts *o)
{
	static char defaults[] = "From:To:Subject:Date:Message-ID";
	int ch;

	o->s.servers = o->servers;
	o->s.timeout_ms = 3000;
	o->now = time(NULL);
	o->hlist = defaults;
	while ((ch = getopt(argc, argv, "s:t:c:i:n:k:d:S:T:r:R:h:o:a")) != -1)
		if (parse_opt(o, ch) != 0)
			return -1;
	o->p.headers = o->names;
	o->p.nheaders = split_names(o->hlist, o->names);
	o->p.oversign = o->over;
	o->p.noversign = split_names(o->olist, o->over);
	if (o->keyfile != NULL &&
	    (o->p.domain == NULL || o->p.selector == NULL ||
	     (o->srv_id == NULL && o->authres == NULL)))
		return -1;
	return argc - optind == 1 && o->s.timeout_ms > 0 ? 0 : -1;
}

/* The whole file into b; 0 or -1. */
static int
read_file(const char *path, struct buf *b)
{
	FILE *f = fopen(path, "rb");
	char chunk[65536];
	size_t n;
	int rc = 0;

	if (f == NULL)
		return -1;
	while (rc == 0 && (n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		rc = buf_append(b, chunk, n);
	if (ferror(f))
		rc = -1;
	fclose(f);
	return rc;
}

/* One line [p, *next): its length without the line break. */
static size_t
line_len(const char *p, const char *end, const char **next)
{
	const char *nl = memchr(p, '\n', (size_t)(end - p));
	const char *e = nl != NULL ? nl : end;

	*next = nl != NULL ? nl + 1 : end;
	if (e > p && e[-1] == '\r')
		e--;
	return (size_t)(e - p);
}

/* One message being read. */
struct msg {
	struct hdr *h;
	struct bodyhash *bh;
	struct arc_verify *av;
	int seal_bh;
};

/* Keep one field ("Name:value", LF folds) and show it to the verifier, as
 * the milter does with each header callback. */
static int
add_field(struct msg *m, struct buf *field)
{
	char *colon = memchr(field->data, ':', field->len);
	int rc;

	if (colon == NULL) {
		fprintf(stderr, "arcq: skipping a header line without ':'\n");
		return 0;
	}
	*colon = '\0';
	if ((rc = hdr_add(m->h, field->data, colon + 1)) == HDR_EFULL)
		return 0;
	if (rc != HDR_OK)
		return -1;
	return arc_verify_field(m->av, m->h, hdr_count(m->h) - 1);
}

/* The header section up to the empty line; *body gets where the body
 * starts.  0 or -1. */
static int
read_headers(struct msg *m, const char *p, const char *end, const char **body)
{
	struct buf field;
	const char *next;
	int rc = 0;

	buf_init(&field, 0);
	while (p < end && rc == 0) {
		size_t n = line_len(p, end, &next);

		if (n == 0) {
			p = next;
			break;
		}
		if ((*p == ' ' || *p == '\t') && field.len > 0) {
			rc = buf_putc(&field, '\n');
		} else if (field.len > 0) {
			rc = add_field(m, &field);
			buf_reset(&field);
		}
		rc = rc ? rc : buf_append(&field, p, n);
		p = next;
	}
	if (rc == 0 && field.len > 0)
		rc = add_field(m, &field);
	buf_free(&field);
	*body = p;
	return rc;
}

/* Where the resinfos of an A-R value start: after the first ';' outside
 * comments and quoted strings; NULL if there is none. */
static const char *
after_id(const char *v, const char *end)
{
	unsigned depth = 0;
	bool quoted = false;

	for (; v < end; v++) {
		if ((depth > 0 || quoted) && *v == '\\' && v + 1 < end)
			v++;
		else if (!quoted && *v == '(')
			depth++;
		else if (!quoted && depth > 0 && *v == ')')
			depth--;
		else if (depth == 0 && *v == '"')
			quoted = !quoted;
		else if (depth == 0 && !quoted && *v == ';')
			return v + 1;
	}
	return NULL;
}

/* The message's A-R fields of srv_id merged into one value, as the ARC
 * test suite's signing cases expect: "srv_id; results; results...". */
static int
merge_authres(const struct hdr *h, const char *srv_id, struct buf *out)
{
	int rc = buf_printf(out, " %s", srv_id);

	for (size_t i = 0; i < hdr_count(h) && rc == 0; i++) {
		const struct hdr_field *f = hdr_get(h, i);
		char id[256];
		size_t len;
		const char *v = hdr_value(f, &len), *end = v + len, *p;

		if (!hdr_is(f, "Authentication-Results") ||
		    authres_read_id(v, len, id, sizeof(id)) != 0 ||
		    strcasecmp(id, srv_id) != 0 ||
		    (p = after_id(v, end)) == NULL)
			continue;
		while (p < end && strchr(" \t\r\n", *p))
			p++;
		while (end > p && strchr(" \t\r\n;", end[-1]))
			end--;
		if (p < end)
			rc = buf_puts(out, "; ") ||
			     buf_append(out, p, (size_t)(end - p));
	}
	return rc;
}

/* The parsed AAR of instance i as "id method=result ...". */
static void
print_aar(const struct arc_verify *av, const struct hdr *h, unsigned i)
{
	struct authres_parsed ap;

	if (arc_verify_aar(av, h, i, &ap) != 0) {
		printf("aar.%u: (unparsable)\n", i);
	} else {
		printf("aar.%u: %s", i, ap.authserv_id);
		for (size_t k = 0; k < ap.nresinfo; k++)
			printf(" %s=%s", ap.resinfo[k].method,
			       ap.resinfo[k].result);
		printf("\n");
	}
	authres_parsed_free(&ap);
}

/* The verification outcome, then our A-R resinfo. */
static int
print_chain(const struct msg *m, const struct arc_chain *c,
            const struct resultset *rs)
{
	static const char *const cv[] = {"none", "pass", "fail"};
	struct buf b;
	const char *ar;

	printf("arc: %s\n", cv[c->cv]);
	if (c->cv == ARC_CV_FAIL)
		printf("reason: %s\n", c->reason);
	printf("instances: %u\n", c->n);
	if (c->cv == ARC_CV_PASS)
		printf("oldest-pass: %d\n", c->oldest_pass);
	printf("can-seal: %s\n", c->can_seal ? "yes" : "no");
	for (unsigned i = 1; c->cv == ARC_CV_PASS && i <= c->n; i++) {
		printf("sealer.%u: %s\n", i, arc_verify_sealer(m->av, i));
		print_aar(m->av, m->h, i);
	}
	buf_init(&b, 0);
	if (authres_format("arcq", rs, "\n\t", &b) != 0) {
		buf_free(&b);
		return -1;
	}
	ar = strstr(buf_cstr(&b), "\n\t");
	printf("ar: %s\n", ar != NULL ? ar + 2 : buf_cstr(&b));
	buf_free(&b);
	return 0;
}

/* Seal and print the three fields. */
static int
seal(const struct msg *m, const struct arc_chain *c, struct opts *o)
{
	struct arc_seal_out out;
	struct errbuf eb;
	struct buf ar;
	int rc = -1;

	buf_init(&ar, 0);
	if (o->authres == NULL && merge_authres(m->h, o->srv_id, &ar) != 0)
		goto done;
	if ((o->p.key = pkey_load_private(o->keyfile, &eb)) == NULL) {
		fprintf(stderr, "arcq: %s\n", eb.msg);
		goto done;
	}
	rc = arc_seal_make(m->h, arc_verify_set(m->av), c, m->bh, m->seal_bh,
	                   o->authres ? o->authres : buf_cstr(&ar), &o->p, &out,
	                   &eb);
	if (rc < 0)
		fprintf(stderr, "arcq: %s\n", eb.msg);
	printf("sealed: %s\n", rc == 1 ? "yes" : "no");
	if (rc == 1)
		printf(
		    "ARC-Authentication-Results:%s\nARC-Message-Signature:%s\n"
		    "ARC-Seal:%s\n",
		    out.aar.data, out.ams.data, out.as.data);
	arc_seal_out_free(&out);
	pkey_unref(o->p.key);
done:
	buf_free(&ar);
	return rc < 0 ? -1 : 0;
}

/* Read, verify, print, seal. */
static int
run(struct msg *m, struct opts *o, const struct buf *raw)
{
	const char *body, *end = raw->data + raw->len;
	struct resultset *rs = resultset_new();
	struct arc_chain c;
	int rc = -1;

	if (rs == NULL)
		return -1;
	if (o->keyfile != NULL && (m->seal_bh = arc_seal_want(m->bh)) < 0)
		goto done;
	if (read_headers(m, raw->data, end, &body) != 0 ||
	    bodyhash_update(m->bh, (const unsigned char *)body,
	                    (size_t)(end - body)) != 0 ||
	    bodyhash_final(m->bh) != 0 ||
	    arc_verify_finish(m->av, m->h, o->client_ip, o->now, rs, &c) != 0 ||
	    print_chain(m, &c, rs) != 0)
		goto done;
	rc = o->keyfile != NULL ? seal(m, &c, o) : 0;
done:
	resultset_free(rs);
	return rc;
}

int
main(int argc, char **argv)
{
	struct opts o = {0};
	struct msg m = {0};
	struct errbuf eb;
	struct keycache *kc = keycache_new(KEYCACHE_MAX);
	struct dns *d = NULL;
	struct buf raw;
	int rc = 2;

	buf_init(&raw, MSG_MAX);
	if (parse_opts(argc, argv, &o) != 0) {
		rc = usage();
		goto out;
	}
	if (read_file(argv[optind], &raw) != 0) {
		fprintf(stderr, "arcq: cannot read %s\n", argv[optind]);
		goto out;
	}
	if ((d = dns_new(&o.s, &eb)) == NULL) {
		fprintf(stderr, "arcq: %s\n", eb.msg);
		goto out;
	}
	m.h = hdr_new(HDR_MAX_FIELDS, HDR_MAX_BYTES);
	m.bh = bodyhash_new();
	if (kc != NULL && m.h != NULL && m.bh != NULL &&
	    (m.av = arc_verify_new(kc, d, m.bh)) != NULL &&
	    run(&m, &o, &raw) == 0)
		rc = 0;
	else
		fprintf(stderr, "arcq: verification failed (out of memory?)\n");
out:
	arc_verify_free(m.av);
	bodyhash_free(m.bh);
	hdr_free(m.h);
	keycache_free(kc);
	dns_free(d);
	buf_free(&raw);
	return rc;
}
