/*
 * policy_load: read, check and dump the JSON policy file (see policy.h).
 *
 * One table (top_keys and the tables it nests) describes every key: its
 * JSON name, its kind, where it goes in struct policy, its limits and its
 * default.  Loading, defaults and policy_dump() are all driven by it, so
 * a key is added in one place.  policy/schema.json and
 * authmilter-policy(5) describe the same keys; t/policy/schema.t checks
 * that they stay in step with this table.
 *
 * Members are checked in file order and loading stops at the first error,
 * reported as one line "FILE:LINE:COLUMN: message" with the dotted path
 * of the key; positions come from policy_pos.c.  Defaults are JSON text
 * in the table and pass through the same checks as values from the file.
 * Relative file names are taken from the policy file's directory and
 * stored absolute, because the daemon may change directory later.
 */
#include "config.h"

#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "buf.h"
#include "log.h"
#include "policy.h"
#include "policy_pos.h"

/*
 * A policy is a few kilobytes; the cap bounds what a mistake such as -c
 * naming a log file can make us read and parse.
 */
#define POLICY_MAX_SIZE (1024 * 1024)
#define MAX_DEPTH       8 /* the deepest key in the table is 4 steps down */
#define PATH_TEXT       256
/* An action key not in the file that takes on_error (resolved last). */
#define ACTION_INHERIT ACTION_COUNT

_Static_assert(sizeof(enum action) == sizeof(int), "enums stored as int");
_Static_assert(sizeof(enum body_length) == sizeof(int), "enums as int");
_Static_assert(sizeof(enum dmarc_mode) == sizeof(int), "enums as int");
_Static_assert(sizeof(enum canon_pair) == sizeof(int), "enums as int");

enum kind {
	K_BOOL,    /* bool */
	K_UINT,    /* unsigned in min..max */
	K_ENUM,    /* int: one of the symbols, as parse(name) or its index */
	K_OCTAL,   /* unsigned from a string of 3 or 4 octal digits, <= max */
	K_STR,     /* char *: min..max characters, one of syms, check() */
	K_CIDR,    /* struct cidr */
	K_ARRAY,   /* pointer to items at off, count at noff, min..max items */
	K_OBJECT,  /* members in sub; F_OPTIONAL: bool "present" at off */
	K_ACTIONS, /* enum action[POLICY_K_COUNT] */
};

#define F_REQUIRED 0x01 /* the key must be present */
#define F_OPTIONAL 0x02 /* K_OBJECT: absent means "not configured" */
#define F_LOWER    0x04 /* K_STR: stored lower-cased */
#define F_PATH     0x08 /* K_STR: a readable file, stored absolute */

struct ctx;

struct key {
	const char *name;
	enum kind kind;
	size_t off;      /* where the value goes, from the struct's base */
	long min, max;   /* value, length in characters, or item count */
	unsigned flags;  /* F_* */
	const char *def; /* the default as JSON text; NULL: none */
	json_t *(*def_fn)(void);        /* a computed default instead */
	const char *const *syms;        /* allowed names, NULL-terminated */
	const char *(*symfn)(size_t i); /* or: the i-th name, NULL at end */
	int (*parse)(const char *name); /* K_ENUM: the value of a name */
	int (*check)(const char *s, struct errbuf *eb); /* K_STR: rules */
	const struct key *sub;  /* K_OBJECT: members, ended by a NULL name */
	const struct key *item; /* K_ARRAY: one item, at offset 0 */
	size_t noff;            /* K_ARRAY: where the item count goes */
	size_t size;            /* an item's size (item keys only) */
	int (*post)(struct ctx *c, const struct key *k, void *base);
};

struct ctx {
	const char *file; /* the path as given, for messages */
	const char *text; /* the file's contents */
	size_t len;
	char *dir; /* the file's directory, absolute; made when needed */
	struct pos_step path[MAX_DEPTH];
	size_t depth;
	int in_default; /* > 0 while a default value is being loaded */
	struct errbuf *eb;
};

static void *
field(void *base, size_t off)
{
	return (char *)base + off;
}

static const void *
cfield(const void *base, size_t off)
{
	return (const char *)base + off;
}

static void
push(struct ctx *c, const char *key, size_t index)
{
	assert(c->depth < MAX_DEPTH);
	c->path[c->depth].key = key;
	c->path[c->depth].index = index;
	c->depth++;
}

static void
pop(struct ctx *c)
{
	c->depth--;
}

/* The dotted path of the current value: "sign.keys[0].key_file". */
static void
path_format(const struct ctx *c, char *out, size_t sz)
{
	size_t n = 0;

	out[0] = '\0';
	for (size_t i = 0; i < c->depth && n < sz; i++) {
		const struct pos_step *s = &c->path[i];
		int w = s->key != NULL
		            ? snprintf(out + n, sz - n, "%s%s",
		                       n > 0 ? "." : "", s->key)
		            : snprintf(out + n, sz - n, "[%zu]", s->index);

		if (w < 0)
			break;
		n += (size_t)w;
	}
}

/* Keep a message on one line and never end it inside a character. */
static void
one_line(struct errbuf *eb)
{
	size_t n, i;

	if (eb == NULL)
		return;
	n = strlen(eb->msg);
	for (i = 0; i < n; i++)
		if ((unsigned char)eb->msg[i] < 0x20 || eb->msg[i] == 0x7f)
			eb->msg[i] = '?';
	if (n + 1 < sizeof(eb->msg))
		return;
	for (i = n; i > 0 && ((unsigned char)eb->msg[i - 1] & 0xc0) == 0x80;)
		i--;
	if (i > 0 && (unsigned char)eb->msg[i - 1] >= 0xc0) {
		unsigned char lead = (unsigned char)eb->msg[i - 1];
		size_t need = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : 2;

		if (n - (i - 1) < need)
			eb->msg[i - 1] = '\0';
	}
}

/* The position of the current value (or key); if it is not in the text
 * (a default), that of the nearest enclosing value that is. */
static void
locate(const struct ctx *c, bool key, struct pos *at)
{
	size_t d = c->depth;

	if (key && policy_pos_find(c->text, c->len, c->path, d, true, at) == 0)
		return;
	for (;; d--) {
		if (policy_pos_find(c->text, c->len, c->path, d, false, at) ==
		    0)
			return;
		if (d == 0)
			break;
	}
	at->line = at->column = 1;
}

/* Report "FILE:LINE:COLUMN: message" for the current value or key; -1. */
__attribute__((format(printf, 3, 4))) static int
report(struct ctx *c, bool key, const char *fmt, ...)
{
	char msg[ERRBUF_SIZE];
	struct pos at;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	locate(c, key, &at);
	errbuf_set(c->eb, "%s:%u:%u: %s%s", c->file, at.line, at.column, msg,
	           c->in_default > 0 ? " (the default value)" : "");
	one_line(c->eb);
	return -1;
}

/* Report a bad value: "FILE:LINE:COLUMN: path: message"; -1. */
__attribute__((format(printf, 2, 3))) static int
fail(struct ctx *c, const char *fmt, ...)
{
	char path[PATH_TEXT], msg[ERRBUF_SIZE];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	path_format(c, path, sizeof(path));
	return report(c, false, "%s: %s", c->depth > 0 ? path : "top level",
	              msg);
}

static int
nomem(struct ctx *c)
{
	return fail(c, "out of memory");
}

static int
unknown_key(struct ctx *c, const char *name)
{
	char path[PATH_TEXT];
	int rc;

	path_format(c, path, sizeof(path));
	push(c, name, 0);
	rc = report(c, true, "unknown key \"%s\" %s%s", name,
	            c->depth > 1 ? "in " : "at top level", path);
	pop(c);
	return rc;
}

/* ---- checks for string values; each writes what is wrong into eb ---- */

/* Letters, digits, '-' and '_' (RFC 8552 underscored names). */
static bool
label_char(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	       (ch >= '0' && ch <= '9') || ch == '-' || ch == '_';
}

/* What is wrong with the label of n bytes at p, or NULL. */
static const char *
label_problem(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!label_char(p[i]))
			return "only letters, digits, '-', '_' and '.' are "
			       "allowed";
	if (n == 0)
		return "it has an empty label";
	if (n > 63)
		return "a label is longer than 63 characters";
	if (p[0] == '-' || p[n - 1] == '-')
		return "a label starts or ends with '-'";
	return NULL;
}

/* Dot-separated DNS labels (RFC 1035 section 2.3.4): 1..63 each. */
static int
check_labels(const char *s, size_t min_labels, const char *what,
             struct errbuf *eb)
{
	const char *problem = NULL;
	size_t labels = 0, n;

	for (const char *p = s; problem == NULL; p += n + 1) {
		n = strcspn(p, ".");
		problem = label_problem(p, n);
		labels++;
		if (p[n] == '\0')
			break;
	}
	if (problem == NULL && labels < min_labels)
		problem = "it needs at least two labels, like example.com";
	if (problem == NULL)
		return 0;
	errbuf_set(eb, "\"%s\" is not a %s: %s", s, what, problem);
	return -1;
}

static int
check_domain(const char *s, struct errbuf *eb)
{
	return check_labels(s, 2, "domain name", eb);
}

static int
check_selector(const char *s, struct errbuf *eb)
{
	return check_labels(s, 1, "selector", eb);
}

/* RFC 8601 authserv-id, kept to a dot-atom-like token. */
static int
check_authserv_id(const char *s, struct errbuf *eb)
{
	for (const char *p = s; *p != '\0'; p++)
		if (!label_char(*p) && *p != '.') {
			errbuf_set(eb,
			           "\"%s\": only letters, digits, '.', '-' "
			           "and '_' are allowed",
			           s);
			return -1;
		}
	return 0;
}

/* RFC 5322 section 3.6.8: printable US-ASCII except ':'. */
static int
check_tag_header(const char *s, struct errbuf *eb)
{
	for (const char *p = s; *p != '\0'; p++)
		if (*p < 33 || *p > 126 || *p == ':') {
			errbuf_set(eb,
			           "\"%s\" is not a header field name: only "
			           "printable ASCII other than ':' is allowed",
			           s);
			return -1;
		}
	return 0;
}

/* A port number: 1..65535, no sign, no leading zero. */
static bool
port_ok(const char *s, size_t n)
{
	unsigned long v = 0;

	if (n == 0 || n > 5 || s[0] == '0')
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	return v <= 65535;
}

/* The family of the IP address in the n bytes at s, or 0. */
static int
ip_family(const char *s, size_t n)
{
	char addr[INET6_ADDRSTRLEN];
	unsigned char bin[16];

	if (n >= sizeof(addr))
		return 0;
	memcpy(addr, s, n);
	addr[n] = '\0';
	if (inet_pton(AF_INET, addr, bin) == 1)
		return AF_INET;
	if (inet_pton(AF_INET6, addr, bin) == 1)
		return AF_INET6;
	return 0;
}

static const char *
after(const char *s, const char *prefix)
{
	size_t n = strlen(prefix);

	return strncmp(s, prefix, n) == 0 ? s + n : NULL;
}

/* The r part of unix:r or local:r: an absolute socket path that fits. */
static int
check_unix(const char *s, const char *r, struct errbuf *eb)
{
	if (r[0] != '/' || r[1] == '\0')
		errbuf_set(eb, "\"%s\": the socket path must be absolute", s);
	else if (strlen(r) >= sizeof(((struct sockaddr_un *)0)->sun_path))
		errbuf_set(eb, "\"%s\": the socket path is too long", s);
	else
		return 0;
	return -1;
}

/* The r part of inet:r or inet6:r: PORT@HOST. */
static int
check_inet(const char *s, const char *r, struct errbuf *eb)
{
	const char *at = strchr(r, '@');

	if (at == NULL)
		errbuf_set(eb,
		           "\"%s\" has no port; expected inet:PORT@HOST "
		           "or inet6:PORT@HOST",
		           s);
	else if (!port_ok(r, (size_t)(at - r)))
		errbuf_set(eb,
		           "\"%s\": port \"%.*s\" is not a number in "
		           "1..65535",
		           s, (int)(at - r), r);
	else if (at[1] == '\0' || strpbrk(at + 1, " \t") != NULL)
		errbuf_set(eb,
		           "\"%s\": the host after '@' is empty or has "
		           "spaces",
		           s);
	else
		return 0;
	return -1;
}

/* The milter socket, in the forms libmilter's smfi_setconn() takes. */
static int
check_listen(const char *s, struct errbuf *eb)
{
	const char *r;

	if ((r = after(s, "unix:")) != NULL || (r = after(s, "local:")) != NULL)
		return check_unix(s, r, eb);
	if ((r = after(s, "inet:")) != NULL || (r = after(s, "inet6:")) != NULL)
		return check_inet(s, r, eb);
	errbuf_set(eb,
	           "\"%s\": unknown socket type; expected unix:/PATH, "
	           "local:/PATH, inet:PORT@HOST or inet6:PORT@HOST",
	           s);
	return -1;
}

/* A resolver: IPv4, IPv6, IPv4@PORT or IPv6@PORT (as unbound writes). */
static int
check_dns_server(const char *s, struct errbuf *eb)
{
	const char *at = strchr(s, '@');
	size_t n = at != NULL ? (size_t)(at - s) : strlen(s);

	if (ip_family(s, n) == 0)
		errbuf_set(eb,
		           "\"%s\" is not an IP address; expected IPv4, "
		           "IPv6, IPv4@PORT or IPv6@PORT",
		           s);
	else if (at != NULL && !port_ok(at + 1, strlen(at + 1)))
		errbuf_set(eb,
		           "\"%s\": port \"%s\" is not a number in "
		           "1..65535",
		           s, at + 1);
	else
		return 0;
	return -1;
}

/* The metrics endpoint: IPv4:PORT or [IPv6]:PORT. */
static int
check_metrics_listen(const char *s, struct errbuf *eb)
{
	const char *colon;
	bool ok;

	if (s[0] == '[') {
		colon = strstr(s, "]:");
		ok = colon != NULL &&
		     ip_family(s + 1, (size_t)(colon - s - 1)) == AF_INET6;
		colon = colon != NULL ? colon + 1 : NULL;
	} else {
		colon = strrchr(s, ':');
		ok = colon != NULL &&
		     ip_family(s, (size_t)(colon - s)) == AF_INET;
	}
	if (!ok)
		errbuf_set(eb, "\"%s\" is not IPv4:PORT or [IPv6]:PORT", s);
	else if (!port_ok(colon + 1, strlen(colon + 1)))
		errbuf_set(eb,
		           "\"%s\": port \"%s\" is not a number in "
		           "1..65535",
		           s, colon + 1);
	else
		return 0;
	return -1;
}

/* The user to run as must exist now, not only when privileges drop. */
static int
check_user(const char *s, struct errbuf *eb)
{
	struct passwd pw, *res = NULL;
	size_t sz = 16384;
	char *buf;
	int rc;

	for (;;) {
		if ((buf = malloc(sz)) == NULL) {
			errbuf_set(eb, "out of memory");
			return -1;
		}
		rc = getpwnam_r(s, &pw, buf, sz, &res);
		free(buf);
		if (rc != ERANGE || sz >= 1024 * 1024)
			break;
		sz *= 4;
	}
	if (res != NULL)
		return 0;
	if (rc == 0 || rc == ENOENT || rc == ESRCH || rc == EBADF ||
	    rc == EPERM)
		errbuf_set(eb, "no such user \"%s\"", s);
	else
		errbuf_set(eb, "cannot look up user \"%s\": %s", s,
		           strerror(rc));
	return -1;
}

/* ---- defaults that are computed ---- */

/* RFC 8601 section 2.5: the authserv-id is usually the host's name. */
static json_t *
host_name(void)
{
	char host[256];

	if (gethostname(host, sizeof(host)) != 0)
		return NULL;
	host[sizeof(host) - 1] = '\0';
	return json_string(host);
}

/* ---- symbols of enumerations ---- */

static const char *
action_sym(size_t i)
{
	return i < ACTION_COUNT ? action_name((enum action)i) : NULL;
}

static const char *
sym_at(const struct key *k, size_t i)
{
	return k->syms != NULL ? k->syms[i] : k->symfn(i);
}

static int
sym_find(const struct key *k, const char *name)
{
	const char *s;

	for (size_t i = 0; (s = sym_at(k, i)) != NULL; i++)
		if (strcmp(s, name) == 0)
			return (int)i;
	return -1;
}

static int
sym_value(const struct key *k, size_t i)
{
	return k->parse != NULL ? k->parse(sym_at(k, i)) : (int)i;
}

static int
bad_sym(struct ctx *c, const struct key *k, const char *s)
{
	char list[256];
	size_t n = 0;
	const char *sym;

	list[0] = '\0';
	for (size_t i = 0; (sym = sym_at(k, i)) != NULL && n < sizeof(list);
	     i++) {
		int w = snprintf(list + n, sizeof(list) - n, "%s%s",
		                 i > 0 ? ", " : "", sym);

		n += w > 0 ? (size_t)w : 0;
	}
	return fail(c, "\"%s\" is not one of: %s", s, list);
}

/* ---- loading ---- */

static int load_value(struct ctx *c, const struct key *k, json_t *v,
                      void *base);

static size_t
utf8_chars(const char *s)
{
	size_t n = 0;

	for (; *s != '\0'; s++)
		n += ((unsigned char)*s & 0xc0) != 0x80;
	return n;
}

static int
load_bool(struct ctx *c, const struct key *k, json_t *v, void *base)
{
	*(bool *)field(base, k->off) = json_is_true(v);
	return 0;
}

static int
load_uint(struct ctx *c, const struct key *k, json_t *v, void *base)
{
	json_int_t n = json_integer_value(v);

	if (n < k->min || n > k->max)
		return fail(c,
		            "%" JSON_INTEGER_FORMAT " is out of range %ld..%ld",
		            n, k->min, k->max);
	*(unsigned *)field(base, k->off) = (unsigned)n;
	return 0;
}

static int
load_enum(struct ctx *c, const struct key *k, json_t *v, void *base)
{
	const char *s = json_string_value(v);
	int i = sym_find(k, s);

	if (i < 0)
		return bad_sym(c, k, s);
	*(int *)field(base, k->off) = sym_value(k, (size_t)i);
	return 0;
}

static int
load_octal(struct ctx *c, const struct key *k, json_t *v, void *base)
{
	const char *s = json_string_value(v);
	size_t n = strlen(s);
	unsigned long mode;

	if ((n != 3 && n != 4) || strspn(s, "01234567") != n)
		return fail(c,
		            "\"%s\" is not an octal mode; expected 3 or 4 "
		            "octal digits, like \"0660\"",
		            s);
	mode = strtoul(s, NULL, 8);
	if (mode > (unsigned long)k->max)
		return fail(c, "\"%s\" is more than %04lo", s,
		            (unsigned long)k->max);
	*(unsigned *)field(base, k->off) = (unsigned)mode;
	return 0;
}

/* Make the directory of the policy file absolute, once. */
static int
find_dir(struct ctx *c)
{
	const char *slash = strrchr(c->file, '/');
	char *d;
	int e;

	if (c->dir != NULL)
		return 0;
	if (slash == NULL)
		d = strdup(".");
	else if (slash == c->file)
		d = strdup("/");
	else
		d = strndup(c->file, (size_t)(slash - c->file));
	if (d == NULL)
		return nomem(c);
	c->dir = realpath(d, NULL);
	e = errno;
	free(d);
	if (c->dir == NULL)
		return fail(c, "cannot find the policy file's directory: %s",
		            strerror(e));
	return 0;
}

/* s as an absolute path in *out (relative: from the policy's directory). */
static int
absolute(struct ctx *c, const char *s, char **out)
{
	size_t n;

	while (s[0] == '.' && s[1] == '/') /* "./k.pem" is "k.pem" */
		for (s += 2; *s == '/';)
			s++;
	if (s[0] == '/')
		*out = strdup(s);
	else if (find_dir(c) != 0)
		return -1;
	else {
		n = strlen(c->dir) + strlen(s) + 2;
		if ((*out = malloc(n)) != NULL)
			snprintf(*out, n, "%s%s%s", c->dir,
			         c->dir[strlen(c->dir) - 1] == '/' ? "" : "/",
			         s);
	}
	return *out != NULL ? 0 : nomem(c);
}

/* Open the file read-only and close it again: it exists and we may read
 * it.  Its contents are checked by whoever uses it. */
static int
readable(struct ctx *c, const char *path)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC), e;

	if (fd < 0)
		return fail(c, "cannot read \"%s\": %s", path, strerror(errno));
	e = fstat(fd, &st) != 0 ? errno : S_ISDIR(st.st_mode) ? EISDIR : 0;
	close(fd);
	if (e != 0)
		return fail(c, "cannot read \"%s\": %s", path, strerror(e));
	return 0;
}

static int
load_str(struct ctx *c, const struct key *k, json_t *v, void *base)
{
	const char *s = json_string_value(v);
	size_t n = utf8_chars(s);
	char **to = field(base, k->off);
	struct errbuf eb;

	if (n == 0 && k->min > 0)
		return fail(c, "must not be empty");
	if ((long)n > k->max)
		return fail(c, "is %zu characters long; at most %ld allowed", n,
		            k->max);
	if ((k->syms != NULL || k->symfn != NULL) && sym_find(k, s) < 0)
		return bad_sym(c, k, s);
	if (k->check != NULL && k->check(s, &eb) != 0)
		return fail(c, "%s", eb.msg);
	if (k->flags & F_PATH)
		return absolute(c, s, to) != 0 ? -1 : readable(c, *to);
	if ((*to = strdup(s)) == NULL)
		return nomem(c);
	if (k->flags & F_LOWER)
		for (char *p = *to; *p != '\0'; p++)
			if (*p >= 'A' && *p <= 'Z')
				*p = (char)(*p - 'A' + 'a');
	return 0;
}

static int
load_cidr(struct ctx *c, const struct key *k, json_t *v, void *base)
{
	struct errbuf eb;

	if (cidr_parse(json_string_value(v), field(base, k->off), &eb) != 0)
		return fail(c, "%s", eb.msg);
	return 0;
}

static int
load_array(struct ctx *c, const struct key *k, json_t *v, void *base)
{
	size_t n = json_array_size(v), sz = k->item->size;
	char *items = NULL;

	if ((long)n < k->min || (long)n > k->max)
		return fail(c, "has %zu items; allowed %ld..%ld", n, k->min,
		            k->max);
	if (n > 0 && (items = calloc(n, sz)) == NULL)
		return nomem(c);
	/* Stored at once, zeroed, so policy_free() cleans up a failure. */
	memcpy(field(base, k->off), &items, sizeof(items));
	memcpy(field(base, k->noff), &n, sizeof(n));
	for (size_t i = 0; i < n; i++) {
		int rc;

		push(c, NULL, i);
		rc = load_value(c, k->item, json_array_get(v, i),
		                items + i * sz);
		pop(c);
		if (rc != 0)
			return -1;
	}
	return 0;
}

static int
load_member(struct ctx *c, const struct key *k, json_t *v, void *base)
{
	int rc;

	push(c, k->name, 0);
	rc = load_value(c, k, v, base);
	pop(c);
	return rc;
}

/* A key that is not in the file: required, defaulted, or left empty. */
static int
load_absent(struct ctx *c, const struct key *k, void *base)
{
	json_t *def;
	int rc;

	if (k->flags & F_REQUIRED)
		return fail(c, "missing required key \"%s\"", k->name);
	if (k->def == NULL && k->def_fn == NULL)
		return 0;
	def = k->def != NULL ? json_loads(k->def, JSON_DECODE_ANY, NULL)
	                     : k->def_fn();
	if (def == NULL) {
		push(c, k->name, 0);
		rc = fail(c, "cannot work out the default; set it explicitly");
		pop(c);
		return rc;
	}
	c->in_default++;
	rc = load_member(c, k, def, base);
	c->in_default--;
	json_decref(def);
	return rc;
}

static const struct key *
find_key(const struct key *table, const char *name)
{
	for (; table->name != NULL; table++)
		if (strcmp(table->name, name) == 0)
			return table;
	return NULL;
}

static int
load_object(struct ctx *c, const struct key *k, json_t *v, void *base)
{
	const struct key *e;
	const char *name;
	json_t *m;

	if (k->flags & F_OPTIONAL)
		*(bool *)field(base, k->off) = true;
	json_object_foreach(v, name, m)
	{
		if ((e = find_key(k->sub, name)) == NULL)
			return unknown_key(c, name);
		if (load_member(c, e, m, base) != 0)
			return -1;
	}
	for (e = k->sub; e->name != NULL; e++)
		if (json_object_get(v, e->name) == NULL &&
		    load_absent(c, e, base) != 0)
			return -1;
	return 0;
}

static const struct key action_value = {
    "action", K_ENUM, 0, .symfn = action_sym, .parse = action_parse};

/* "actions": exactly the policy key names, each with an action. */
static int
load_actions(struct ctx *c, const struct key *k, json_t *v, void *base)
{
	enum action *act = field(base, k->off);
	const char *name;
	json_t *m;

	for (int i = 0; i < POLICY_K_COUNT; i++)
		act[i] = policy_key_inherits_on_error((enum policy_key)i)
		             ? ACTION_INHERIT
		             : policy_key_default((enum policy_key)i);
	json_object_foreach(v, name, m)
	{
		int i = policy_key_parse(name), rc;

		if (i < 0)
			return unknown_key(c, name);
		push(c, name, 0);
		rc = load_value(c, &action_value, m, &act[i]);
		pop(c);
		if (rc != 0)
			return -1;
	}
	return 0;
}

/* Two sign.keys entries may not share domain and selector: one name in
 * DNS can publish only one key. */
static int
distinct_signkeys(struct ctx *c, const struct key *k, void *base)
{
	const struct policy *p = base;

	for (size_t i = 1; i < p->sign.nkeys; i++) {
		const struct policy_signkey *b = &p->sign.keys[i];

		for (size_t j = 0; j < i; j++) {
			const struct policy_signkey *a = &p->sign.keys[j];
			int rc;

			if (strcmp(a->domain, b->domain) != 0 ||
			    strcasecmp(a->selector, b->selector) != 0)
				continue;
			push(c, NULL, i);
			rc = fail(c,
			          "domain \"%s\" with selector \"%s\" is "
			          "already in sign.keys[%zu]",
			          b->domain, b->selector, j);
			pop(c);
			return rc;
		}
	}
	return 0;
}

/* sign.headers must name From (RFC 6376 section 5.4). */
static int
headers_have_from(struct ctx *c, const struct key *k, void *base)
{
	const struct policy *p = base;

	(void)k;
	for (size_t i = 0; i < p->sign.nheaders; i++)
		if (strcasecmp(p->sign.headers[i], "From") == 0)
			return 0;
	return fail(c, "must include \"From\" (RFC 6376 section 5.4)");
}

/* ---- dumping ---- */

static json_t *dump_value(const struct key *k, const void *base);

static json_t *
dump_bool(const struct key *k, const void *base)
{
	return json_boolean(*(const bool *)cfield(base, k->off));
}

static json_t *
dump_uint(const struct key *k, const void *base)
{
	return json_integer(*(const unsigned *)cfield(base, k->off));
}

static json_t *
dump_enum(const struct key *k, const void *base)
{
	int v = *(const int *)cfield(base, k->off);

	for (size_t i = 0; sym_at(k, i) != NULL; i++)
		if (sym_value(k, i) == v)
			return json_string(sym_at(k, i));
	return NULL;
}

static json_t *
dump_octal(const struct key *k, const void *base)
{
	return json_sprintf("%04o", *(const unsigned *)cfield(base, k->off));
}

static json_t *
dump_str(const struct key *k, const void *base)
{
	return json_string(*(char *const *)cfield(base, k->off));
}

static json_t *
dump_cidr(const struct key *k, const void *base)
{
	const struct cidr *n = cfield(base, k->off);
	char addr[INET6_ADDRSTRLEN];

	if (inet_ntop(n->family, n->addr, addr, sizeof(addr)) == NULL)
		return NULL;
	return json_sprintf("%s/%u", addr, n->bits);
}

static json_t *
dump_array(const struct key *k, const void *base)
{
	json_t *a = json_array();
	const char *items;
	size_t n;

	memcpy(&items, cfield(base, k->off), sizeof(items));
	memcpy(&n, cfield(base, k->noff), sizeof(n));
	for (size_t i = 0; a != NULL && i < n; i++)
		if (json_array_append_new(
		        a, dump_value(k->item, items + i * k->item->size)) !=
		    0) {
			json_decref(a);
			a = NULL;
		}
	return a;
}

/* Whether a key holds nothing (and is then left out of the dump). */
static bool
unset(const struct key *k, const void *base)
{
	size_t n;

	switch (k->kind) {
	case K_STR:
		return *(char *const *)cfield(base, k->off) == NULL;
	case K_ARRAY:
		memcpy(&n, cfield(base, k->noff), sizeof(n));
		return n == 0;
	case K_OBJECT:
		return (k->flags & F_OPTIONAL) &&
		       !*(const bool *)cfield(base, k->off);
	default:
		return false;
	}
}

static json_t *
dump_object(const struct key *k, const void *base)
{
	json_t *o = json_object();

	for (const struct key *e = k->sub; o != NULL && e->name != NULL; e++) {
		if (e->def == NULL && e->def_fn == NULL && unset(e, base))
			continue;
		if (json_object_set_new(o, e->name, dump_value(e, base)) != 0) {
			json_decref(o);
			o = NULL;
		}
	}
	return o;
}

static json_t *
dump_actions(const struct key *k, const void *base)
{
	const enum action *act = cfield(base, k->off);
	json_t *o = json_object();

	for (int i = 0; o != NULL && i < POLICY_K_COUNT; i++)
		if (json_object_set_new(o, policy_key_name((enum policy_key)i),
		                        json_string(action_name(act[i]))) !=
		    0) {
			json_decref(o);
			o = NULL;
		}
	return o;
}

/* ---- the kinds and the table ---- */

typedef int load_fn(struct ctx *, const struct key *, json_t *, void *);
typedef json_t *dump_fn(const struct key *, const void *);

static const struct {
	json_type type; /* JSON_TRUE stands for either boolean */
	const char *type_name;
	load_fn *load;
	dump_fn *dump;
} kinds[] = {
    [K_BOOL] = {JSON_TRUE, "a boolean", load_bool, dump_bool},
    [K_UINT] = {JSON_INTEGER, "an integer", load_uint, dump_uint},
    [K_ENUM] = {JSON_STRING, "a string", load_enum, dump_enum},
    [K_OCTAL] = {JSON_STRING, "a string", load_octal, dump_octal},
    [K_STR] = {JSON_STRING, "a string", load_str, dump_str},
    [K_CIDR] = {JSON_STRING, "a string", load_cidr, dump_cidr},
    [K_ARRAY] = {JSON_ARRAY, "an array", load_array, dump_array},
    [K_OBJECT] = {JSON_OBJECT, "an object", load_object, dump_object},
    [K_ACTIONS] = {JSON_OBJECT, "an object", load_actions, dump_actions},
};

static const char *
type_name(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return "an object";
	case JSON_ARRAY:
		return "an array";
	case JSON_STRING:
		return "a string";
	case JSON_INTEGER:
		return "an integer";
	case JSON_REAL:
		return "a real";
	case JSON_TRUE:
	case JSON_FALSE:
		return "a boolean";
	default:
		return "null";
	}
}

static int
load_value(struct ctx *c, const struct key *k, json_t *v, void *base)
{
	json_type want = kinds[k->kind].type;

	if (want == JSON_TRUE ? !json_is_boolean(v) : json_typeof(v) != want)
		return fail(c, "expected %s, got %s", kinds[k->kind].type_name,
		            type_name(v));
	if (kinds[k->kind].load(c, k, v, base) != 0)
		return -1;
	return k->post != NULL ? k->post(c, k, base) : 0;
}

static json_t *
dump_value(const struct key *k, const void *base)
{
	return kinds[k->kind].dump(k, base);
}

#define P(m)  offsetof(struct policy, m)
#define SK(m) offsetof(struct policy_signkey, m)

static const char *const on_error_syms[] = {"accept", "tempfail", "reject",
                                            NULL};
static const char *const facility_syms[] = {
    "mail",   "daemon", "user",   "local0", "local1", "local2",
    "local3", "local4", "local5", "local6", "local7", NULL};
static const char *const body_length_syms[] = {"no_pass", "allow", NULL};
static const char *const dmarc_mode_syms[] = {"rfc9989", "rfc7489", NULL};
static const char *const canon_pair_syms[] = {"simple/simple", "simple/relaxed",
                                              "relaxed/simple",
                                              "relaxed/relaxed", NULL};
static const char *const missing_key_syms[] = {"accept", "tempfail", NULL};
static const char *const algorithm_syms[] = {"rsa-sha256", "ed25519-sha256",
                                             NULL};

static const struct key server_item = {"server",
                                       K_STR,
                                       0,
                                       1,
                                       64,
                                       .check = check_dns_server,
                                       .size = sizeof(char *)};
static const struct key cidr_item = {"network", K_CIDR, 0,
                                     .size = sizeof(struct cidr)};
static const struct key domain_item = {"domain",
                                       K_STR,
                                       0,
                                       1,
                                       253,
                                       .flags = F_LOWER,
                                       .check = check_domain,
                                       .size = sizeof(char *)};
static const struct key field_item = {"field",
                                      K_STR,
                                      0,
                                      1,
                                      64,
                                      .check = check_tag_header,
                                      .size = sizeof(char *)};
static const struct key sealer_item = {"sealer",
                                       K_STR,
                                       0,
                                       1,
                                       253,
                                       .flags = F_LOWER,
                                       .check = check_domain,
                                       .size = sizeof(char *)};

static const struct key dns_keys[] = {
    {"servers", K_ARRAY, P(dns.servers), 1, 8, .item = &server_item,
     .noff = P(dns.nservers)},
    {"timeout_ms", K_UINT, P(dns.timeout_ms), 100, 60000, .def = "5000"},
    {"unbound_config", K_STR, P(dns.unbound_config), 1, PATH_MAX - 1,
     .flags = F_PATH},
    {.name = NULL},
};

static const struct key spf_keys[] = {
    {"enabled", K_BOOL, P(verify.spf), .def = "true"},
    {"received_spf", K_BOOL, P(verify.spf_received_spf), .def = "false"},
    {.name = NULL},
};

static const struct key dkim_keys[] = {
    {"enabled", K_BOOL, P(verify.dkim), .def = "true"},
    /* RFC 8301 section 3.2: verifiers must accept 1024..4096 bits;
     * 8192 bounds the cost of one verification. */
    {"min_rsa_bits", K_UINT, P(verify.dkim_min_rsa_bits), 1024, 8192,
     .def = "1024"},
    {"body_length", K_ENUM, P(verify.dkim_body_length), .def = "\"no_pass\"",
     .syms = body_length_syms},
    /* Each signature costs a key lookup and a verification. */
    {"max_signatures", K_UINT, P(verify.dkim_max_signatures), 1, 50,
     .def = "10"},
    {.name = NULL},
};

static const struct key dmarc_keys[] = {
    {"enabled", K_BOOL, P(verify.dmarc), .def = "true"},
    {"mode", K_ENUM, P(verify.dmarc_mode), .def = "\"rfc9989\"",
     .syms = dmarc_mode_syms},
    {"enforce", K_BOOL, P(verify.dmarc_enforce), .def = "true"},
    /* Read only in rfc7489 mode; absent: Debian's publicsuffix file. */
    {"psl_file", K_STR, P(verify.dmarc_psl_file), 1, PATH_MAX - 1,
     .flags = F_PATH},
    {"never_reject_domains", K_ARRAY, P(verify.dmarc_never_reject_domains), 0,
     1024, .def = "[]", .item = &domain_item,
     .noff = P(verify.ndmarc_never_reject_domains)},
    {"never_reject_networks", K_ARRAY, P(verify.dmarc_never_reject_networks), 0,
     1024, .def = "[]", .item = &cidr_item,
     .noff = P(verify.ndmarc_never_reject_networks)},
    {.name = NULL},
};

static const struct key arc_keys[] = {
    {"enabled", K_BOOL, P(verify.arc), .def = "true"},
    {"trusted_sealers", K_ARRAY, P(verify.arc_trusted_sealers), 0, 256,
     .def = "[]", .item = &sealer_item, .noff = P(verify.narc_trusted_sealers)},
    {.name = NULL},
};

static const struct key iprev_keys[] = {
    {"enabled", K_BOOL, P(verify.iprev), .def = "true"},
    {.name = NULL},
};

static const struct key verify_keys[] = {
    {"spf", K_OBJECT, 0, .def = "{}", .sub = spf_keys},
    {"dkim", K_OBJECT, 0, .def = "{}", .sub = dkim_keys},
    {"dmarc", K_OBJECT, 0, .def = "{}", .sub = dmarc_keys},
    {"arc", K_OBJECT, 0, .def = "{}", .sub = arc_keys},
    {"iprev", K_OBJECT, 0, .def = "{}", .sub = iprev_keys},
    {.name = NULL},
};

static const struct key signkey_keys[] = {
    {"domain", K_STR, SK(domain), 1, 253, .flags = F_REQUIRED | F_LOWER,
     .check = check_domain},
    {"selector", K_STR, SK(selector), 1, 253, .flags = F_REQUIRED,
     .check = check_selector},
    {"algorithm", K_STR, SK(algorithm), 1, 32, .def = "\"rsa-sha256\"",
     .syms = algorithm_syms},
    {"key_file", K_STR, SK(key_file), 1, PATH_MAX - 1,
     .flags = F_REQUIRED | F_PATH},
    {.name = NULL},
};

static const struct key signkey_item = {"key", K_OBJECT, 0, .sub = signkey_keys,
                                        .size = sizeof(struct policy_signkey)};

static const struct key sign_keys[] = {
    {"keys", K_ARRAY, P(sign.keys), 0, 64, .def = "[]", .item = &signkey_item,
     .noff = P(sign.nkeys), .post = distinct_signkeys},
    {"canonicalization", K_ENUM, P(sign.canonicalization),
     .def = "\"relaxed/relaxed\"", .syms = canon_pair_syms},
    /* RFC 6376 section 5.4.1, plus the MIME fields and Message-ID. */
    {"headers", K_ARRAY, P(sign.headers), 1, 64, .item = &field_item,
     .noff = P(sign.nheaders), .post = headers_have_from,
     .def = "[\"From\", \"Reply-To\", \"Subject\", \"Date\", \"To\", "
            "\"Cc\", \"Resent-Date\", \"Resent-From\", \"Resent-To\", "
            "\"Resent-Cc\", \"In-Reply-To\", \"References\", "
            "\"List-Id\", \"List-Help\", \"List-Unsubscribe\", "
            "\"List-Subscribe\", \"List-Post\", \"List-Owner\", "
            "\"List-Archive\", \"Message-ID\", \"MIME-Version\", "
            "\"Content-Type\", \"Content-Transfer-Encoding\"]"},
    /* Signed once more than present, so an added copy breaks the
     * signature (RFC 6376 section 8.15). */
    {"oversign", K_ARRAY, P(sign.oversign), 0, 64, .item = &field_item,
     .noff = P(sign.noversign),
     .def = "[\"From\", \"To\", \"Cc\", \"Subject\", \"Date\", "
            "\"Reply-To\", \"Message-ID\", \"MIME-Version\", "
            "\"Content-Type\", \"Content-Transfer-Encoding\"]"},
    {"expire_seconds", K_UINT, P(sign.expire_seconds), 0, 31536000, .def = "0"},
    {"missing_key", K_ENUM, P(sign.missing_key), .def = "\"accept\"",
     .syms = missing_key_syms, .parse = action_parse},
    {.name = NULL},
};

static const struct key arc_seal_keys[] = {
    {"domain", K_STR, P(arc_seal.domain), 1, 253, .flags = F_REQUIRED | F_LOWER,
     .check = check_domain},
    {"selector", K_STR, P(arc_seal.selector), 1, 253, .flags = F_REQUIRED,
     .check = check_selector},
    {"key_file", K_STR, P(arc_seal.key_file), 1, PATH_MAX - 1,
     .flags = F_REQUIRED | F_PATH},
    {.name = NULL},
};

static const struct key metrics_keys[] = {
    {"listen", K_STR, P(metrics.listen), 1, 64, .check = check_metrics_listen},
    {.name = NULL},
};

/* "actions" comes after "on_error" only for readability: the inherited
 * actions are resolved once the whole file is loaded. */
static const struct key top_keys[] = {
    {"authserv_id", K_STR, P(authserv_id), 1, 255, .def_fn = host_name,
     .check = check_authserv_id},
    {"listen", K_STR, P(listen), 1, 1024, .def = "\"inet:8891@127.0.0.1\"",
     .check = check_listen},
    {"user", K_STR, P(user), 1, 256, .check = check_user},
    {"socket_mode", K_OCTAL, P(socket_mode), 0, 0777, .def = "\"0660\""},
    {"on_error", K_ENUM, P(on_error), .def = "\"tempfail\"",
     .syms = on_error_syms, .parse = action_parse},
    {"log_facility", K_ENUM, P(log_facility), .def = "\"mail\"",
     .syms = facility_syms, .parse = log_facility_parse},
    {"tag_header", K_STR, P(tag_header), 1, 64, .def = "\"X-Authmilter-Tag\"",
     .check = check_tag_header},
    {"dns", K_OBJECT, 0, .def = "{}", .sub = dns_keys},
    {"internal_networks", K_ARRAY, P(internal), 0, 1024,
     .def = "[\"127.0.0.0/8\", \"::1/128\"]", .item = &cidr_item,
     .noff = P(ninternal)},
    {"verify", K_OBJECT, 0, .def = "{}", .sub = verify_keys},
    {"sign", K_OBJECT, 0, .def = "{}", .sub = sign_keys},
    {"arc_seal", K_OBJECT, P(arc_seal.enabled), .flags = F_OPTIONAL,
     .sub = arc_seal_keys},
    {"actions", K_ACTIONS, P(actions), .def = "{}"},
    {"metrics", K_OBJECT, 0, .def = "{}", .sub = metrics_keys},
    {.name = NULL},
};

static const struct key root_key = {"", K_OBJECT, 0, .sub = top_keys};

/* ---- the file ---- */

/* An error about the whole file, at its start. */
__attribute__((format(printf, 2, 3))) static int
file_error(struct ctx *c, const char *fmt, ...)
{
	char msg[ERRBUF_SIZE];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	errbuf_set(c->eb, "%s:1:1: %s", c->file, msg);
	one_line(c->eb);
	return -1;
}

static int
read_file(struct ctx *c, struct buf *b)
{
	char chunk[8192];
	ssize_t n;
	int fd = open(c->file, O_RDONLY | O_NOCTTY | O_CLOEXEC), rc = 0;

	if (fd < 0)
		return file_error(c, "cannot open: %s", strerror(errno));
	while (rc == 0 && (n = read(fd, chunk, sizeof(chunk))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			rc = file_error(c, "cannot read: %s", strerror(errno));
		else if ((rc = buf_append(b, chunk, (size_t)n)) == BUF_E2BIG)
			rc = file_error(c, "the file is larger than %d bytes",
			                POLICY_MAX_SIZE);
		else if (rc != BUF_OK)
			rc = file_error(c, "out of memory");
	}
	close(fd);
	c->text = buf_cstr(b);
	c->len = b->len;
	return rc;
}

/* jansson's words for its errors, and ours. */
static const struct {
	const char *theirs, *ours;
} jansson_words[] = {
    {"'}' expected", "syntax error: expected ',' or '}'"},
    {"']' expected", "syntax error: expected ',' or ']'"},
    {"string or '}' expected",
     "syntax error: expected a key in double quotes or '}'"},
    {"':' expected", "syntax error: expected ':' after the key"},
    {"unexpected newline", "syntax error: line break inside a string"},
    {"control character", "syntax error: control character in a string"},
    {"invalid escape", "syntax error: invalid escape in a string"},
    {"invalid Unicode", "syntax error: invalid \\u escape in a string"},
    {"unexpected token", "syntax error: unexpected token"},
    {"invalid token", "syntax error: invalid token"},
    {"maximum parsing depth", "nested too deeply"},
    {"too big", "number out of range"},
    {"real number overflow", "number out of range"},
    {"\\u0000", "\\u0000 is not allowed in a string"},
    {"NUL byte", "\\u0000 is not allowed in a key"},
    {"end of file expected", "unexpected text after the top-level value"},
    {"unable to decode", "invalid UTF-8"},
    {"duplicate object key", "duplicate key"},
};

/* jansson's message in our words, keeping its " near '...'" part. */
static void
reword(const char *theirs, char *out, size_t sz)
{
	const char *near = strstr(theirs, " near ");

	for (size_t i = 0; i < sizeof(jansson_words) / sizeof(jansson_words[0]);
	     i++)
		if (strncmp(theirs, jansson_words[i].theirs,
		            strlen(jansson_words[i].theirs)) == 0) {
			snprintf(out, sz, "%s%s", jansson_words[i].ours,
			         near != NULL ? near : "");
			return;
		}
	snprintf(out, sz, "syntax error: %s", theirs);
}

/* Name a duplicate key and its object, from the text before jansson's
 * position (just past the key); 0 or -1. */
static int
duplicate_key(struct ctx *c, const json_error_t *err, char *out, size_t sz)
{
	char path[PATH_TEXT], key[128];

	if (err->position < 0 ||
	    policy_pos_member(c->text, c->len, (size_t)err->position, path,
	                      sizeof(path), key, sizeof(key)) != 0)
		return -1;
	snprintf(out, sz, "duplicate key \"%s\" %s%s", key,
	         path[0] != '\0' ? "in " : "at top level", path);
	return 0;
}

/* A jansson error in our words, at jansson's position: where it stopped,
 * the last character it read. */
static void
syntax_error(struct ctx *c, const json_error_t *err)
{
	enum json_error_code code = json_error_code(err);
	char what[ERRBUF_SIZE];

	if (code == json_error_premature_end_of_input)
		snprintf(what, sizeof(what), "unexpected end of file");
	else if (code != json_error_duplicate_key ||
	         duplicate_key(c, err, what, sizeof(what)) != 0)
		reword(err->text, what, sizeof(what));
	errbuf_set(c->eb, "%s:%d:%d: %s", c->file,
	           err->line > 0 ? err->line : 1,
	           err->column > 0 ? err->column : 1, what);
	one_line(c->eb);
}

static json_t *
parse(struct ctx *c)
{
	json_error_t err;
	json_t *root;

	if (strspn(c->text, " \t\r\n") == c->len) {
		file_error(c, "the file is empty; expected a JSON object");
		return NULL;
	}
	/* JSON_DECODE_ANY: a top level that is no object gets our message. */
	root = json_loadb(c->text, c->len,
	                  JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &err);
	if (root == NULL)
		syntax_error(c, &err);
	return root;
}

/* Absent action keys that follow on_error take it now that it is known. */
static void
inherit_on_error(struct policy *p)
{
	for (int i = 0; i < POLICY_K_COUNT; i++)
		if (p->actions[i] == ACTION_INHERIT)
			p->actions[i] = p->on_error;
}

struct policy *
policy_load(const char *path, struct errbuf *eb)
{
	struct ctx c = {.file = path, .text = "", .eb = eb};
	struct policy *p = NULL;
	json_t *root = NULL;
	struct buf text;

	errbuf_clear(eb);
	buf_init(&text, POLICY_MAX_SIZE);
	if (read_file(&c, &text) != 0 || (root = parse(&c)) == NULL)
		goto out;
	if ((p = calloc(1, sizeof(*p))) == NULL ||
	    (p->file = strdup(path)) == NULL) {
		nomem(&c);
		goto fail;
	}
	if (load_value(&c, &root_key, root, p) != 0)
		goto fail;
	inherit_on_error(p);
	goto out;
fail:
	policy_free(p);
	p = NULL;
out:
	json_decref(root);
	free(c.dir);
	buf_free(&text);
	return p;
}

int
policy_dump(const struct policy *p, struct buf *out)
{
	json_t *j = dump_value(&root_key, p);
	char *s;
	int rc;

	if (j == NULL)
		return BUF_ENOMEM;
	s = json_dumps(j, JSON_SORT_KEYS | JSON_INDENT(2));
	json_decref(j);
	if (s == NULL)
		return BUF_ENOMEM;
	rc = buf_puts(out, s);
	free(s);
	return rc;
}
