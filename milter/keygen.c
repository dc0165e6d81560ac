/*
 * authmilter-keygen: make DKIM keys, print their DNS records, and check a
 * published key against its private key (the jobs of opendkim-genkey and
 * opendkim-testkey).  The command line and exit codes are documented in
 * authmilter-keygen(1).
 *
 * Records (RFC 6376 section 3.6.1) are "v=DKIM1; k=TYPE; [t=y; ]p=KEY":
 * no h= (a verifier already refuses sha1, RFC 8301 section 3.1, and h=
 * would only narrow what it accepts), no s=.  In the zone file the TXT
 * data is split into character-strings of at most 255 bytes (RFC 1035
 * section 3.3.14), which verifiers join again (RFC 6376 section 3.6.2.2).
 *
 * --check looks the key up through the key cache and record parser the
 * daemon's verifier uses (keycache.h), so it sees what a verifier sees;
 * a published key matches when its public half equals the key file's and
 * it verifies a signature the key file makes.
 *
 * New key files are written to a temporary file in the same directory
 * (mode 0600), synced, then linked to their name (refused when it exists)
 * or renamed over it with --force, so a key file is never half written.
 * Buffers that held private key text are wiped before they are freed.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "b64.h"
#include "buf.h"
#include "dns.h"
#include "errbuf.h"
#include "keycache.h"
#include "pkey.h"

/* Exit codes besides EXIT_SUCCESS and the sysexits.h ones (EX_USAGE,
 * EX_NOINPUT, EX_SOFTWARE, EX_CANTCREAT, EX_CONFIG). */
#define EXIT_CHECK_FAILED 1 /* the published key is missing, bad, other */
#define EXIT_TEMPORARY    2 /* the DNS lookup failed temporarily */

#define PROG        "authmilter-keygen"
#define RSA_DEFAULT 2048
/* RFC 8301 section 3.2: verifiers need not handle more than 4096 bits. */
#define RSA_MAX         4096
#define MAX_SERVERS     8
#define TIMEOUT_DEFAULT 5000
#define TIMEOUT_MAX     600000
#define TXT_STRING_MAX  255 /* RFC 1035 section 3.3.14 */
#define KEYNAME_MAX     253

enum mode { MODE_GENERATE, MODE_RECORD, MODE_CHECK };

struct opts {
	enum mode mode;
	enum pkey_type type;
	unsigned bits; /* 0: the default */
	enum pkey_format format;
	bool force, testing;
	bool gen_only;   /* an option only key generation takes was given */
	bool check_only; /* an option only --check takes was given */
	char domain[KEYNAME_MAX + 2];
	const char *selector, *dir, *keyfile;
	const char *servers[MAX_SERVERS];
	size_t nservers;
	const char *unbound_config;
	unsigned timeout_ms;
};

enum {
	OPT_FORMAT = 256,
	OPT_TESTING,
	OPT_RECORD,
	OPT_CHECK,
	OPT_DNS,
	OPT_UBCONF,
	OPT_TIMEOUT
};

static const struct option long_opts[] = {
    {"type", required_argument, NULL, 't'},
    {"bits", required_argument, NULL, 'b'},
    {"domain", required_argument, NULL, 'd'},
    {"selector", required_argument, NULL, 's'},
    {"directory", required_argument, NULL, 'o'},
    {"force", no_argument, NULL, 'f'},
    {"format", required_argument, NULL, OPT_FORMAT},
    {"testing", no_argument, NULL, OPT_TESTING},
    {"record", required_argument, NULL, OPT_RECORD},
    {"check", no_argument, NULL, OPT_CHECK},
    {"dns", required_argument, NULL, OPT_DNS},
    {"unbound-config", required_argument, NULL, OPT_UBCONF},
    {"timeout", required_argument, NULL, OPT_TIMEOUT},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, 'V'},
    {NULL, 0, NULL, 0},
};

static const char usage_text[] =
    "usage: " PROG " [-t rsa|ed25519] [-b BITS] -d DOMAIN -s SELECTOR\n"
    "                         [-o DIR] [-f] [--format pem|raw] [--testing]\n"
    "       " PROG " --record KEYFILE -d DOMAIN -s SELECTOR [--testing]\n"
    "       " PROG " --check DOMAIN SELECTOR KEYFILE [--dns IP[@PORT]]...\n"
    "                         [--unbound-config FILE] [--timeout MS]\n"
    "       " PROG " -h | -V\n";

/* Print a message prefixed with the program name to stderr. */
static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void
say(const char *fmt, ...)
{
	va_list ap;

	fputs(PROG ": ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* A usage error: the message, the synopsis, EX_USAGE. */
static int usage_error(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

static int
usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs(PROG ": ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n%s", usage_text);
	return EX_USAGE;
}

/* Wipe and free a buffer that held private key text. */
static void
wipe_free(struct buf *b)
{
	if (b->data != NULL)
		OPENSSL_cleanse(b->data, b->cap);
	buf_free(b);
}

/* A decimal number in [min, max]; false if s is anything else. */
static bool
parse_uint(const char *s, unsigned min, unsigned max, unsigned *out)
{
	char *end;
	unsigned long v;

	if (*s < '0' || *s > '9')
		return false;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return false;
	*out = (unsigned)v;
	return true;
}

/* Check and keep the domain (one trailing dot dropped); EX_USAGE or 0. */
static int
set_domain(struct opts *o, const char *s)
{
	size_t n = strlen(s);

	if (n > 0 && s[n - 1] == '.')
		n--;
	if (n > KEYNAME_MAX)
		return usage_error("domain too long: %s", s);
	memcpy(o->domain, s, n);
	o->domain[n] = '\0';
	for (const char *p = s; *p != '\0'; p++)
		if ((unsigned char)*p >= 0x80)
			return usage_error("not an ASCII domain: %s (write an "
			                   "internationalized name in its "
			                   "A-label form, xn--...)",
			                   s);
	if (!keycache_valid_name(o->domain))
		return usage_error("not a valid domain name: %s", s);
	return 0;
}

/* The value of -t, -b or --format; 0 or EX_USAGE. */
static int
gen_option(struct opts *o, int c, const char *arg)
{
	o->gen_only = true;
	if (c == 't' && strcmp(arg, "rsa") == 0)
		o->type = PKEY_RSA;
	else if (c == 't' && strcmp(arg, "ed25519") == 0)
		o->type = PKEY_ED25519;
	else if (c == 't')
		return usage_error("unknown key type %s: use rsa or ed25519",
		                   arg);
	else if (c == 'b' && !parse_uint(arg, 1, UINT_MAX, &o->bits))
		return usage_error("bad number of bits: %s", arg);
	else if (c == OPT_FORMAT && strcmp(arg, "pem") == 0)
		o->format = PKEY_FORMAT_PEM;
	else if (c == OPT_FORMAT && strcmp(arg, "raw") == 0)
		o->format = PKEY_FORMAT_SEED;
	else if (c == OPT_FORMAT)
		return usage_error("unknown key format %s: use pem or raw",
		                   arg);
	return 0;
}

/* The value of --dns, --unbound-config or --timeout; 0 or EX_USAGE. */
static int
dns_option(struct opts *o, int c, const char *arg)
{
	o->check_only = true;
	if (c == OPT_DNS && o->nservers == MAX_SERVERS)
		return usage_error("too many --dns servers (at most %d)",
		                   MAX_SERVERS);
	if (c == OPT_DNS)
		o->servers[o->nservers++] = arg;
	else if (c == OPT_UBCONF)
		o->unbound_config = arg;
	else if (!parse_uint(arg, 1, TIMEOUT_MAX, &o->timeout_ms))
		return usage_error("bad --timeout (milliseconds, 1 to %d): %s",
		                   TIMEOUT_MAX, arg);
	return 0;
}

/* One option; 0, EX_USAGE, or -1 after --help / --version. */
static int
one_option(struct opts *o, int c, const char *arg, const char *argv_opt)
{
	switch (c) {
	case 't':
	case 'b':
	case OPT_FORMAT:
		return gen_option(o, c, arg);
	case 'o':
	case 'f':
		o->gen_only = true;
		o->dir = c == 'o' ? arg : o->dir;
		o->force = o->force || c == 'f';
		return 0;
	case OPT_DNS:
	case OPT_UBCONF:
	case OPT_TIMEOUT:
		return dns_option(o, c, arg);
	case 'd':
		return set_domain(o, arg);
	case 's':
		o->selector = arg;
		return keycache_valid_name(arg)
		           ? 0
		           : usage_error("not a valid selector: %s", arg);
	case OPT_TESTING:
		o->testing = true;
		return 0;
	case OPT_RECORD:
	case OPT_CHECK:
		if (o->mode != MODE_GENERATE)
			return usage_error("--record and --check are modes: "
			                   "give one of them");
		o->mode = c == OPT_RECORD ? MODE_RECORD : MODE_CHECK;
		o->keyfile = arg;
		return 0;
	case 'h':
		printf("%sSee authmilter-keygen(1).\n", usage_text);
		return -1;
	case 'V':
		printf("%s %s\n", PROG, PACKAGE_VERSION);
		return -1;
	default:
		return usage_error("unknown option or missing argument: %s",
		                   argv_opt);
	}
}

/* The operands of --check: DOMAIN SELECTOR KEYFILE; 0 or EX_USAGE. */
static int
check_operands(struct opts *o, int argc, char **argv)
{
	int r;

	if (o->domain[0] != '\0' || o->selector != NULL)
		return usage_error("--check takes DOMAIN SELECTOR "
		                   "KEYFILE as operands, not -d and -s");
	if (argc != 3)
		return usage_error("--check needs DOMAIN SELECTOR "
		                   "KEYFILE");
	if ((r = one_option(o, 'd', argv[0], argv[0])) != 0 ||
	    (r = one_option(o, 's', argv[1], argv[1])) != 0)
		return r;
	o->keyfile = argv[2];
	return 0;
}

/* SELECTOR._domainkey.DOMAIN must be a domain name (RFC 1035 section
 * 2.3.4: 255 octets on the wire, 253 characters in text); 0 or EX_USAGE. */
static int
name_fits(const struct opts *o)
{
	size_t n =
	    strlen(o->selector) + strlen("._domainkey.") + strlen(o->domain);

	if (n > KEYNAME_MAX)
		return usage_error("%s._domainkey.%s is longer than %d "
		                   "characters",
		                   o->selector, o->domain, KEYNAME_MAX);
	return 0;
}

/* Which options go with which mode; 0 or EX_USAGE. */
static int
check_mode(struct opts *o, int argc, char **argv)
{
	int r;

	if (o->mode == MODE_CHECK) {
		if (o->gen_only || o->testing)
			return usage_error("--check takes only --dns, "
			                   "--unbound-config and "
			                   "--timeout");
		if ((r = check_operands(o, argc, argv)) != 0)
			return r;
		return name_fits(o);
	}
	if (argc > 0)
		return usage_error("unexpected operand: %s", argv[0]);
	if (o->check_only)
		return usage_error("--dns, --unbound-config and "
		                   "--timeout go with --check only");
	if (o->mode == MODE_RECORD && o->gen_only)
		return usage_error("--record takes only -d, -s and "
		                   "--testing");
	if (o->domain[0] == '\0' || o->selector == NULL)
		return usage_error("-d DOMAIN and -s SELECTOR are "
		                   "required");
	if ((r = name_fits(o)) != 0)
		return r;
	if (o->type == PKEY_ED25519 && o->bits != 0 && o->bits != 256)
		return usage_error("Ed25519 keys have 256 bits: drop -b");
	if (o->type == PKEY_RSA && o->bits == 0)
		o->bits = RSA_DEFAULT;
	if (o->type == PKEY_RSA &&
	    (o->bits < PKEY_RSA_GEN_MIN_BITS || o->bits > RSA_MAX))
		return usage_error("RSA keys must have %d (RFC 8301) to %d "
		                   "bits, not %u",
		                   PKEY_RSA_GEN_MIN_BITS, RSA_MAX, o->bits);
	if (o->type == PKEY_RSA && o->format == PKEY_FORMAT_SEED)
		return usage_error("--format raw is for Ed25519 keys "
		                   "only");
	return 0;
}

/* Parse the command line into o; 0, EX_USAGE, or -1 (help/version
 * printed: exit 0). */
static int
parse_args(int argc, char **argv, struct opts *o)
{
	int c, r;

	*o = (struct opts){.type = PKEY_RSA,
	                   .format = PKEY_FORMAT_PEM,
	                   .dir = ".",
	                   .timeout_ms = TIMEOUT_DEFAULT};
	opterr = 0;
	while ((c = getopt_long(argc, argv, "t:b:d:s:o:fhV", long_opts,
	                        NULL)) != -1) {
		r = one_option(o, c, optarg, argv[optind - 1]);
		if (r != 0)
			return r;
	}
	return check_mode(o, argc - optind, argv + optind);
}

/* The record text "v=DKIM1; k=TYPE; [t=y; ]p=BASE64" of k's public half
 * into rec; *pstart is where "p=" begins.  0 or -1 (out of memory). */
static int
record_text(const struct pkey *k, bool testing, struct buf *rec, size_t *pstart)
{
	struct buf der;
	int r = -1;

	buf_init(&der, 0);
	if (buf_printf(rec, "v=DKIM1; k=%s; %s", pkey_type_name(pkey_type(k)),
	               testing ? "t=y; " : "") == BUF_OK &&
	    pkey_public_dkim(k, &der) == 0) {
		*pstart = rec->len;
		if (buf_puts(rec, "p=") == BUF_OK &&
		    b64_encode((const unsigned char *)der.data, der.len, rec) ==
		        BUF_OK)
			r = 0;
	}
	buf_free(&der);
	return r;
}

/* Append rec[from, to) as quoted character-strings of at most 255 bytes,
 * each on its own line after the first.  The text is base64 and tags:
 * nothing in it needs escaping. */
static int
append_strings(struct buf *out, const char *rec, size_t from, size_t to)
{
	int r = BUF_OK;

	while (from < to && r == BUF_OK) {
		size_t n =
		    to - from < TXT_STRING_MAX ? to - from : TXT_STRING_MAX;

		r = buf_printf(out, "\n\t\"%.*s\"", (int)n, rec + from);
		from += n;
	}
	return r;
}

/* The zone-file lines publishing k at selector._domainkey.domain:
 *   NAME. IN TXT ( "v=DKIM1; k=rsa; "
 *           "p=..."
 *           "..." ) ; comment
 * 0 or -1. */
static int
zone_text(const struct opts *o, const struct pkey *k, struct buf *out)
{
	struct buf rec;
	size_t pstart = 0;
	int r = -1;

	buf_init(&rec, 0);
	if (record_text(k, o->testing, &rec, &pstart) == 0 &&
	    buf_printf(out, "%s._domainkey.%s. IN TXT ( \"%.*s\"", o->selector,
	               o->domain, (int)pstart, rec.data) == BUF_OK &&
	    append_strings(out, rec.data, pstart, rec.len) == BUF_OK &&
	    buf_printf(out, " ) ; DKIM key %s for %s, %s %u bits\n",
	               o->selector, o->domain, pkey_type_name(pkey_type(k)),
	               pkey_bits(k)) == BUF_OK)
		r = 0;
	buf_free(&rec);
	return r;
}

/* Write all of data to fd; 0 or -1 with errno set. */
static int
write_all(int fd, const char *data, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, data, len);

		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		data += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Give the finished temporary file tmp its name: link (refused when path
 * exists) or, with force, rename over it.  0 or -1 with a message. */
static int
commit_file(const char *tmp, const char *path, bool force, struct errbuf *eb)
{
	if (force ? rename(tmp, path) == 0 : link(tmp, path) == 0) {
		if (!force)
			unlink(tmp);
		return 0;
	}
	if (errno == EEXIST)
		errbuf_set(eb, "%s exists: use --force to replace it", path);
	else
		errbuf_set(eb, "%s: %s", path, strerror(errno));
	unlink(tmp);
	return -1;
}

/* Write data to path with mode (through a temporary file in the same
 * directory, so that path is never seen half written); 0 or -1 with a
 * message in eb. */
static int
write_file(const char *path, const struct buf *data, mode_t mode, bool force,
           struct errbuf *eb)
{
	char tmp[PATH_MAX];
	int fd;

	if (snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path) >= (int)sizeof(tmp)) {
		errbuf_set(eb, "%s: file name too long", path);
		return -1;
	}
	if ((fd = mkstemp(tmp)) == -1) { /* mode 0600 */
		errbuf_set(eb, "%s: %s", path, strerror(errno));
		return -1;
	}
	if ((mode != 0600 && fchmod(fd, mode) == -1) ||
	    write_all(fd, data->data, data->len) == -1 || fsync(fd) == -1) {
		errbuf_set(eb, "%s: %s", tmp, strerror(errno));
		close(fd);
		unlink(tmp);
		return -1;
	}
	if (close(fd) == -1) {
		errbuf_set(eb, "%s: %s", tmp, strerror(errno));
		unlink(tmp);
		return -1;
	}
	return commit_file(tmp, path, force, eb);
}

/* DIR/SELECTOR.EXT into out; false if too long. */
static bool
out_path(const struct opts *o, const char *ext, char *out, size_t outsz)
{
	int n = snprintf(out, outsz, "%s/%s.%s", o->dir, o->selector, ext);

	return n > 0 && (size_t)n < outsz - 8; /* room for ".XXXXXX" */
}

/* Refuse early (before a slow RSA generation) when a file is in the way
 * or the directory is missing; 0 or EX_CANTCREAT. */
static int
check_paths(const struct opts *o, const char *key, const char *txt)
{
	struct stat st;

	if (stat(o->dir, &st) == -1) {
		say("%s: %s", o->dir, strerror(errno));
		return EX_CANTCREAT;
	}
	if (!S_ISDIR(st.st_mode)) {
		say("%s: not a directory", o->dir);
		return EX_CANTCREAT;
	}
	for (int i = 0; i < 2 && !o->force; i++) {
		const char *p = i == 0 ? key : txt;

		if (lstat(p, &st) == 0) {
			say("%s exists: use --force to replace it", p);
			return EX_CANTCREAT;
		}
	}
	return 0;
}

/* Write the key file and the record file and print the record: 0,
 * EX_CANTCREAT or EX_SOFTWARE. */
static int
save_key(const struct opts *o, const struct pkey *k, const char *keypath,
         const char *txtpath)
{
	struct errbuf eb = {{0}};
	struct buf text, zone;
	int r = EX_SOFTWARE;

	buf_init(&text, 0);
	buf_init(&zone, 0);
	if (pkey_private_text(k, o->format, &text, &eb) != 0)
		say("%s", eb.msg);
	else if (zone_text(o, k, &zone) != 0)
		say("out of memory");
	else if (write_file(keypath, &text, 0600, o->force, &eb) != 0) {
		say("%s", eb.msg);
		r = EX_CANTCREAT;
	} else if (write_file(txtpath, &zone, 0644, o->force, &eb) != 0) {
		say("%s", eb.msg);
		if (!o->force) /* leave no key without its record */
			unlink(keypath);
		r = EX_CANTCREAT;
	} else if (fputs(zone.data, stdout) == EOF || fflush(stdout) != 0) {
		say("standard output: %s", strerror(errno));
		r = EX_CANTCREAT;
	} else {
		r = 0;
	}
	wipe_free(&text);
	buf_free(&zone);
	return r;
}

/* Make a key: DIR/SELECTOR.key and DIR/SELECTOR.txt, record on stdout. */
static int
run_generate(const struct opts *o)
{
	char keypath[PATH_MAX], txtpath[PATH_MAX];
	struct errbuf eb = {{0}};
	struct pkey *k;
	int r;

	if (!out_path(o, "key", keypath, sizeof(keypath)) ||
	    !out_path(o, "txt", txtpath, sizeof(txtpath))) {
		say("%s: directory name too long", o->dir);
		return EX_CANTCREAT;
	}
	if ((r = check_paths(o, keypath, txtpath)) != 0)
		return r;
	k = pkey_generate(o->type, o->type == PKEY_RSA ? o->bits : 0, &eb);
	if (k == NULL) {
		say("%s", eb.msg);
		return EX_SOFTWARE;
	}
	r = save_key(o, k, keypath, txtpath);
	pkey_unref(k);
	return r;
}

/* Print the record of an existing key file. */
static int
run_record(const struct opts *o)
{
	struct errbuf eb = {{0}};
	struct pkey *k = pkey_load_private(o->keyfile, &eb);
	struct buf zone;
	int r = 0;

	if (k == NULL) {
		say("%s", eb.msg);
		return EX_NOINPUT;
	}
	buf_init(&zone, 0);
	if (zone_text(o, k, &zone) != 0) {
		say("out of memory");
		r = EX_SOFTWARE;
	} else if (fputs(zone.data, stdout) == EOF || fflush(stdout) != 0) {
		say("standard output: %s", strerror(errno));
		r = EX_CANTCREAT;
	}
	buf_free(&zone);
	pkey_unref(k);
	return r;
}

/* Whether pub verifies a signature priv makes.  The "digest" signed is
 * any 32 bytes: only the pairing of the keys is in question. */
static bool
signs_for(const struct pkey *priv, const struct pkey *pub)
{
	static const unsigned char md[32] = "authmilter-keygen check probe.";
	struct buf sig;
	bool ok;

	buf_init(&sig, 0);
	ok = pkey_sign(priv, md, sizeof(md), &sig) == 0 &&
	     pkey_verify(pub, md, sizeof(md), (unsigned char *)sig.data,
	                 sig.len) == 1;
	buf_free(&sig);
	return ok;
}

/* Whether the two keys have the same DKIM p= bytes. */
static bool
same_public(const struct pkey *a, const struct pkey *b)
{
	struct buf da, db;
	bool same;

	buf_init(&da, 0);
	buf_init(&db, 0);
	same = pkey_public_dkim(a, &da) == 0 && pkey_public_dkim(b, &db) == 0 &&
	       da.len == db.len && memcmp(da.data, db.data, da.len) == 0;
	buf_free(&da);
	buf_free(&db);
	return same;
}

/* Compare a usable published key with the key file; the exit code. */
static int
judge_key(const struct opts *o, const char *name, const struct dkim_key *key,
          const struct pkey *priv)
{
	const char *have = pkey_type_name(pkey_type(priv));

	if (key->type != pkey_type(priv)) {
		say("%s: published key does not match %s: the record has "
		    "k=%s, the key file an %s key",
		    name, o->keyfile, pkey_type_name(key->type), have);
		return EXIT_CHECK_FAILED;
	}
	if (!same_public(key->pkey, priv) || !signs_for(priv, key->pkey)) {
		say("%s: published key does not match %s", name, o->keyfile);
		return EXIT_CHECK_FAILED;
	}
	if (pkey_type(priv) == PKEY_RSA &&
	    pkey_bits(priv) < PKEY_RSA_GEN_MIN_BITS) {
		say("%s: key matches %s but has %u bits: verifiers refuse RSA "
		    "keys under %d bits (RFC 8301)",
		    name, o->keyfile, pkey_bits(priv), PKEY_RSA_GEN_MIN_BITS);
		return EXIT_CHECK_FAILED;
	}
	printf("%s: key matches %s (%s, %u bits%s)\n", name, o->keyfile, have,
	       pkey_bits(priv), key->testing ? ", testing mode t=y" : "");
	return fflush(stdout) == 0 ? 0 : EX_CANTCREAT;
}

/* The exit code for the key cache's verdict on the published record. */
static int
judge(const struct opts *o, const char *name, enum ar_result r,
      const struct dkim_key *key, const char *why, const struct pkey *priv)
{
	if (r == AR_R_PASS && key != NULL)
		return judge_key(o, name, key, priv);
	if (r == AR_R_TEMPERROR) {
		say("%s: temporary DNS failure (%s): try again later", name,
		    why);
		return EXIT_TEMPORARY;
	}
	if (strcmp(why, "no key") == 0)
		say("%s: no key published (no TXT record holding a DKIM key)",
		    name);
	else if (strcmp(why, "key revoked") == 0)
		say("%s: the published key is revoked (empty p=)", name);
	else if (strncmp(why, "key lookup: ", 12) == 0)
		say("%s: the DNS lookup failed (%s)", name, why + 12);
	else
		say("%s: the published record is not usable: %s", name, why);
	return EXIT_CHECK_FAILED;
}

/* Look the key up and compare; the exit code. */
static int
check_published(const struct opts *o, struct dns *d, const struct pkey *priv)
{
	char name[KEYNAME_MAX * 2 + 16];
	struct keycache *kc = keycache_new(1);
	struct key_query *q = NULL;
	const struct dkim_key *key = NULL;
	const char *why = "";
	enum ar_result r;
	int code = EX_SOFTWARE;

	snprintf(name, sizeof(name), "%s._domainkey.%s", o->selector,
	         o->domain);
	if (kc == NULL ||
	    (q = keycache_start(kc, d, o->selector, o->domain)) == NULL) {
		say("out of memory");
	} else {
		r = keycache_wait(q, &key, &why);
		code = judge(o, name, r, key, why != NULL ? why : "", priv);
	}
	key_query_free(q);
	keycache_free(kc);
	return code;
}

/* --check: the published key of DOMAIN/SELECTOR against KEYFILE. */
static int
run_check(const struct opts *o)
{
	struct errbuf eb = {{0}};
	struct dns_settings ds = {.servers = o->servers,
	                          .nservers = o->nservers,
	                          .timeout_ms = o->timeout_ms,
	                          .unbound_config = o->unbound_config};
	struct pkey *priv = pkey_load_private(o->keyfile, &eb);
	struct dns *d;
	int r;

	if (priv == NULL) {
		say("%s", eb.msg);
		return EX_NOINPUT;
	}
	if ((d = dns_new(&ds, &eb)) == NULL) {
		say("resolver: %s", eb.msg);
		pkey_unref(priv);
		return EX_CONFIG;
	}
	r = check_published(o, d, priv);
	dns_free(d);
	pkey_unref(priv);
	return r;
}

int
main(int argc, char **argv)
{
	struct opts o;
	int r = parse_args(argc, argv, &o);

	if (r != 0)
		return r == -1 ? 0 : r;
	if (o.mode == MODE_CHECK)
		return run_check(&o);
	if (o.mode == MODE_RECORD)
		return run_record(&o);
	return run_generate(&o);
}
