/*
 * policy_test: the policy loader, its dump and the position scanner.
 *
 * Data cases live in $T_SRCDIR/t/policy, one directory per case:
 *
 *   good/<case>/policy.json    must load; policy_dump() must equal
 *   good/<case>/expected.json  (plus a final newline), after two
 *                              placeholders in expected.json are expanded:
 *                              @CASEDIR@  the case directory, absolute and
 *                                         without symlinks (what relative
 *                                         key_file paths become)
 *                              @HOSTNAME@ gethostname() (what authserv_id
 *                                         defaults to)
 *                              Every good case must also survive a round
 *                              trip: its dump, loaded again, dumps the same.
 *   bad/<case>/policy.json     must fail with exactly the one line in
 *   bad/<case>/expected        (without its newline).
 *
 * Each case is loaded as "policy.json" from inside its directory, so the
 * reported FILE is "policy.json".  New cases need no code here.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include "../lib/tap.h"
#include "buf.h"
#include "policy.h"
#include "policy_pos.h"

/* ---- helpers ---- */

/* The whole file as a string (caller frees), or NULL. */
static char *
slurp(const char *path)
{
	struct buf b;
	char chunk[4096];
	ssize_t n;
	int fd = open(path, O_RDONLY);

	if (fd < 0)
		return NULL;
	buf_init(&b, 0);
	while ((n = read(fd, chunk, sizeof(chunk))) > 0)
		buf_append(&b, chunk, (size_t)n);
	close(fd);
	buf_puts(&b, "");
	return buf_steal(&b);
}

static int
spew(const char *path, const char *text, size_t len)
{
	FILE *f = fopen(path, "w");
	int rc;

	if (f == NULL)
		return -1;
	rc = fwrite(text, 1, len, f) == len ? 0 : -1;
	return fclose(f) == 0 ? rc : -1;
}

/* s with every "from" replaced by "to" (caller frees). */
static char *
replace(const char *s, const char *from, const char *to)
{
	struct buf b;
	const char *hit;

	buf_init(&b, 0);
	while ((hit = strstr(s, from)) != NULL) {
		buf_append(&b, s, (size_t)(hit - s));
		buf_puts(&b, to);
		s = hit + strlen(from);
	}
	buf_puts(&b, s);
	return buf_steal(&b);
}

static void
chomp(char *s)
{
	size_t n = strlen(s);

	if (n > 0 && s[n - 1] == '\n')
		s[n - 1] = '\0';
}

static char *
dump(const struct policy *p)
{
	struct buf b;

	buf_init(&b, 0);
	if (policy_dump(p, &b) != 0) {
		buf_free(&b);
		return NULL;
	}
	buf_puts(&b, "\n");
	return buf_steal(&b);
}

static int
not_dot(const struct dirent *d)
{
	return d->d_name[0] != '.';
}

static char tmpdir[PATH_MAX];

static void
tmp_path(char *out, size_t sz, const char *name)
{
	snprintf(out, sz, "%s/%s", tmpdir, name);
}

/* ---- data cases ---- */

/* Load dump as a policy again; it must dump the same. */
static void
round_trip(const char *name, const char *first)
{
	char path[PATH_MAX + 32], *again = NULL;
	struct errbuf eb;
	struct policy *p;

	tmp_path(path, sizeof(path), "round-trip.json");
	if (spew(path, first, strlen(first)) == 0 &&
	    (p = policy_load(path, &eb)) != NULL) {
		again = dump(p);
		policy_free(p);
	} else
		diag("%s", eb.msg);
	is_str(again, first, "good/%s: its dump loads and dumps the same",
	       name);
	free(again);
	unlink(path);
}

static void
good_case(const char *name)
{
	char cwd[PATH_MAX], host[256] = "", *want = NULL, *w1, *got = NULL;
	struct errbuf eb;
	struct policy *p = policy_load("policy.json", &eb);

	if (!ok(p != NULL, "good/%s: loads", name))
		diag("%s", eb.msg);
	if (getcwd(cwd, sizeof(cwd)) != NULL && gethostname(host, 255) == 0 &&
	    (w1 = slurp("expected.json")) != NULL) {
		char *w2 = replace(w1, "@CASEDIR@", cwd);

		want = replace(w2, "@HOSTNAME@", host);
		free(w1);
		free(w2);
	}
	if (p != NULL)
		got = dump(p);
	is_str(got, want, "good/%s: dump is expected.json", name);
	if (got != NULL)
		round_trip(name, got);
	free(got);
	free(want);
	policy_free(p);
}

static void
bad_case(const char *name)
{
	char *want = slurp("expected");
	struct errbuf eb;
	struct policy *p = policy_load("policy.json", &eb);

	if (want != NULL)
		chomp(want);
	is_str(p == NULL ? eb.msg : "(loaded)", want, "bad/%s", name);
	free(want);
	policy_free(p);
}

/* Run fn inside every case directory under dir; the number of cases. */
static int
each_case(const char *dir, void (*fn)(const char *))
{
	struct dirent **list;
	int n = scandir(dir, &list, not_dot, alphasort);
	int here;

	if (n < 0)
		return n;
	here = open(".", O_RDONLY | O_DIRECTORY);
	for (int i = 0; i < n; i++) {
		char path[PATH_MAX];

		snprintf(path, sizeof(path), "%s/%s", dir, list[i]->d_name);
		if (ok(chdir(path) == 0, "enter %s", path))
			fn(list[i]->d_name);
		if (fchdir(here) != 0)
			perror("fchdir");
		free(list[i]);
	}
	free(list);
	close(here);
	return n;
}

static void
data_cases(void)
{
	const char *src = getenv("T_SRCDIR");
	char dir[PATH_MAX];
	int n;

	snprintf(dir, sizeof(dir), "%s/t/policy/good", src != NULL ? src : ".");
	n = each_case(dir, good_case);
	ok(n >= 8, "%d good cases in %s (T_SRCDIR)", n, dir);
	snprintf(dir, sizeof(dir), "%s/t/policy/bad", src != NULL ? src : ".");
	n = each_case(dir, bad_case);
	ok(n >= 35, "%d bad cases in %s", n, dir);
}

/* ---- the scanner ---- */

/* Parse "a #2 b" (keys, and #indexes) into steps; their number. */
static size_t
parse_path(const char *spec, struct pos_step *steps, char keys[][64])
{
	size_t n = 0;

	while (*spec != '\0' && n < 8) {
		size_t len = strcspn(spec, " ");

		snprintf(keys[n], 64, "%.*s", (int)len, spec);
		steps[n].key = keys[n][0] == '#' ? NULL : keys[n];
		steps[n].index =
		    keys[n][0] == '#' ? strtoul(keys[n] + 1, NULL, 10) : 0;
		n++;
		spec += len;
		spec += *spec == ' ';
	}
	return n;
}

static const struct {
	const char *name, *text, *path;
	bool key;
	const char *want; /* "LINE:COLUMN", or NULL: not found */
} find_cases[] = {
    {"top level after blank lines", "  \n {}", "", false, "2:2"},
    {"member value", "{\"a\": 1}", "a", false, "1:7"},
    {"member key", "{\"a\": 1}", "a", true, "1:2"},
    {"nested", "{\"a\": {\"b\": [1, 2, {\"c\": true}]}}", "a b #2 c", false,
     "1:26"},
    {"nested key", "{\"a\": {\"b\": [1, 2, {\"c\": true}]}}", "a b #2 c", true,
     "1:21"},
    {"array element", "[10, [20, 21], 30]", "#1 #1", false, "1:11"},
    {"index past the end", "[1, 2]", "#2", false, NULL},
    {"missing key", "{\"a\": 1}", "b", false, NULL},
    {"index into an object", "{\"a\": 1}", "#0", false, NULL},
    {"key into an array", "[1]", "a", false, NULL},
    {"key of an element", "[1]", "#0", true, NULL},
    {"key of the top level", "{}", "", true, NULL},
    {"escaped key", "{\"\\u0061b\": 1}", "ab", false, "1:13"},
    {"surrogate pair key", "{\"\\ud83d\\udce8\": 7}", "\xf0\x9f\x93\xa8", false,
     "1:18"},
    {"escaped quote in a key", "{\"a\\\"b\": 1, \"c\": 2}", "c", false, "1:18"},
    {"prefix of a key", "{\"ab\": 1, \"a\": 2}", "a", false, "1:16"},
    {"brackets inside strings", "{\"x\": \"[{\", \"y\": 2}", "y", false,
     "1:18"},
    {"characters, not bytes", "{\"\xc3\xa9\": \"\xe2\x9c\x89\", \"k\": 1}", "k",
     false, "1:17"},
    {"CRLF and tabs", "{\r\n\t\"a\":\r\n\t\t[\r\n\t\t\"x\"]}", "a #0", false,
     "4:3"},
    {"first of two", "{\"a\": 1, \"a\": 2}", "a", false, "1:7"},
    {"cut off array", "{\"a\": [1, 2", "a #1", false, "1:11"},
    {"cut off before the value", "{\"a\": [1, 2", "a #2", false, NULL},
    {"lone quote", "\"", "a", false, NULL},
    {"backslash at the end", "{\"a\\", "a", false, NULL},
    {"short escape", "{\"\\u12", "a", false, NULL},
    {"no colon", "{\"a\" 1}", "a", false, NULL},
    {"empty text", "", "", false, NULL},
};

static void
find_tests(void)
{
	for (size_t i = 0; i < sizeof(find_cases) / sizeof(find_cases[0]);
	     i++) {
		struct pos_step steps[8];
		char keys[8][64], got[32] = "(not found)";
		size_t n = parse_path(find_cases[i].path, steps, keys);
		struct pos at;

		if (policy_pos_find(find_cases[i].text,
		                    strlen(find_cases[i].text), steps, n,
		                    find_cases[i].key, &at) == 0)
			snprintf(got, sizeof(got), "%u:%u", at.line, at.column);
		is_str(got,
		       find_cases[i].want ? find_cases[i].want : "(not found)",
		       "policy_pos_find: %s", find_cases[i].name);
	}
}

static const struct {
	const char *name, *text,
	    *needle;            /* the key ends after the last needle */
	const char *path, *key; /* NULL path: not found */
} member_cases[] = {
    {"top level", "{\"a\":1,\"a\":2}", "\"a\"", "", "a"},
    {"nested in arrays", "{\"x\":[[1,{\"k\":1,\"k\":2}]]}", "\"k\"", "x[0][1]",
     "k"},
    {"cut off after the key", "{\"p\": {\"q\": 1, \"q\"", "\"q\"", "p", "q"},
    {"escaped key", "{\"o\":{\"\\u00e9\":1,\"\\u00e9\"", "\"\\u00e9\"", "o",
     "\xc3\xa9"},
    {"after skipped values",
     "{\"s\": \"}]\", \"t\": {\"u\": [{}], \"v\": "
     "1, \"v\"",
     "\"v\"", "t", "v"},
    {"inside a value, not a key", "{\"a\": \"xyz\"}", "xy", NULL, NULL},
    {"past the end", "{\"a\": 1}", "}", NULL, NULL},
};

static void
member_tests(void)
{
	for (size_t i = 0; i < sizeof(member_cases) / sizeof(member_cases[0]);
	     i++) {
		const char *t = member_cases[i].text, *hit = NULL, *s;
		char path[64], key[64], got[160] = "(not found)";
		size_t end;

		for (s = t; (s = strstr(s, member_cases[i].needle)) != NULL;
		     s++)
			hit = s;
		end = (size_t)(hit - t) + strlen(member_cases[i].needle);
		if (policy_pos_member(t, strlen(t), end, path, sizeof(path),
		                      key, sizeof(key)) == 0)
			snprintf(got, sizeof(got), "%s|%s", path, key);
		if (member_cases[i].path == NULL)
			is_str(got, "(not found)", "policy_pos_member: %s",
			       member_cases[i].name);
		else {
			char want[160];

			snprintf(want, sizeof(want), "%s|%s",
			         member_cases[i].path, member_cases[i].key);
			is_str(got, want, "policy_pos_member: %s",
			       member_cases[i].name);
		}
	}
}

static void
scanner_limits(void)
{
	const char *t = "{\"abcdefgh\":{\"ijklmnop\":[{\"qrstuvwx\":1,"
	                "\"qrstuvwx\"";
	char path[8], key[4];
	struct pos_step step = {"abcdefgh", 0};
	struct pos at;

	is_int(policy_pos_member(t, strlen(t), strlen(t), path, sizeof(path),
	                         key, sizeof(key)),
	       0, "policy_pos_member: small buffers");
	ok(strlen(path) < sizeof(path) && strlen(key) < sizeof(key),
	   "policy_pos_member: truncates to fit (\"%s\", \"%s\")", path, key);
	/* The length is what bounds the scan, not a NUL. */
	is_int(policy_pos_find(t, 5, &step, 1, false, &at), -1,
	       "policy_pos_find: stops at len");
	t = "a\nbc\xc3\xa9x";
	policy_pos_offset(t, strlen(t), 100, &at);
	ok(at.line == 2 && at.column == 5,
	   "policy_pos_offset: clamps to len "
	   "(%u:%u)",
	   at.line, at.column);
}

/* ---- defaults and the file itself ---- */

/* Write text as a policy in the temporary directory and load it. */
static struct policy *
load_text(const char *text, struct errbuf *eb)
{
	char path[PATH_MAX + 32];
	struct policy *p;

	tmp_path(path, sizeof(path), "policy.json");
	if (spew(path, text, strlen(text)) != 0)
		return NULL;
	p = policy_load(path, eb);
	unlink(path);
	return p;
}

static const struct {
	const char *name, *text;
	enum policy_key key;
	enum action want;
} action_cases[] = {
    {"dmarc_temperror follows the default on_error", "{}",
     POLICY_K_DMARC_TEMPERROR, ACTION_TEMPFAIL},
    {"dmarc_temperror follows on_error accept", "{\"on_error\": \"accept\"}",
     POLICY_K_DMARC_TEMPERROR, ACTION_ACCEPT},
    {"dmarc_temperror follows on_error written after actions",
     "{\"actions\": {}, \"on_error\": \"reject\"}", POLICY_K_DMARC_TEMPERROR,
     ACTION_REJECT},
    {"a set dmarc_temperror wins over on_error",
     "{\"on_error\": \"reject\", \"actions\": {\"dmarc_temperror\": "
     "\"tag\"}}",
     POLICY_K_DMARC_TEMPERROR, ACTION_TAG},
    {"other keys keep their defaults under on_error",
     "{\"on_error\": \"accept\"}", POLICY_K_SPF_FAIL, ACTION_TAG},
    {"dmarc_reject defaults to reject", "{}", POLICY_K_DMARC_REJECT,
     ACTION_REJECT},
};

static void
action_defaults(void)
{
	for (size_t i = 0; i < sizeof(action_cases) / sizeof(action_cases[0]);
	     i++) {
		struct errbuf eb;
		struct policy *p = load_text(action_cases[i].text, &eb);

		if (p == NULL)
			diag("%s", eb.msg);
		is_str(p != NULL ? action_name(p->actions[action_cases[i].key])
		                 : eb.msg,
		       action_name(action_cases[i].want), "%s",
		       action_cases[i].name);
		policy_free(p);
	}
}

static void
other_defaults(void)
{
	struct errbuf eb;
	struct policy *p = load_text("{}", &eb);

	if (!ok(p != NULL, "{} loads"))
		return;
	is_int(p->socket_mode, 0660, "socket_mode defaults to 0660");
	is_int(p->log_facility, LOG_MAIL, "log_facility defaults to mail");
	is_int(p->on_error, ACTION_TEMPFAIL, "on_error defaults to tempfail");
	is_int(p->dns.timeout_ms, 5000, "dns.timeout_ms defaults to 5000");
	is_int((long long)p->dns.nservers, 0, "no dns.servers by default");
	is_int((long long)p->ninternal, 2, "two internal networks by default");
	is_int(p->verify.dkim_min_rsa_bits, 1024, "min_rsa_bits is 1024");
	is_int(p->verify.dkim_max_signatures, 10, "max_signatures is 10");
	ok(p->verify.spf && p->verify.dkim && p->verify.dmarc &&
	       p->verify.arc && p->verify.iprev && p->verify.dmarc_enforce,
	   "every method is enabled and DMARC enforced by default");
	ok(!p->arc_seal.enabled && p->arc_seal.domain == NULL,
	   "no arc_seal by default");
	ok(p->user == NULL && p->metrics.listen == NULL &&
	       p->dns.unbound_config == NULL && p->sign.nkeys == 0,
	   "no user, metrics, unbound_config or keys by default");
	is_str(p->tag_header, "X-Authmilter-Tag", "tag_header default");
	is_str(p->listen, "inet:8891@127.0.0.1", "listen default");
	ok(p->file != NULL && strstr(p->file, "policy.json") != NULL,
	   "file is the path given (%s)", p->file);
	policy_free(p);
}

/* A big file of spaces around "{}". */
static char *
padded(size_t size)
{
	char *s = malloc(size + 1);

	if (s == NULL)
		return NULL;
	memset(s, ' ', size);
	s[0] = '{';
	s[size - 1] = '}';
	s[size] = '\0';
	return s;
}

static void
file_errors(void)
{
	char path[PATH_MAX + 32], want[PATH_MAX + 128];
	struct errbuf eb;
	struct policy *p;
	char *big;

	tmp_path(path, sizeof(path), "absent.json");
	p = policy_load(path, &eb);
	snprintf(want, sizeof(want), "%s:1:1: cannot open: %s", path,
	         strerror(ENOENT));
	is_str(p == NULL ? eb.msg : "(loaded)", want, "a missing file");
	policy_free(p);

	p = policy_load(tmpdir, &eb);
	snprintf(want, sizeof(want), "%s:1:1: cannot read: %s", tmpdir,
	         strerror(EISDIR));
	is_str(p == NULL ? eb.msg : "(loaded)", want, "a directory");
	policy_free(p);

	p = load_text(big = padded(1024 * 1024), &eb);
	if (!ok(p != NULL, "a file of exactly 1 MiB loads"))
		diag("%s", eb.msg);
	policy_free(p);
	free(big);
	p = load_text(big = padded(1024 * 1024 + 1), &eb);
	ok(p == NULL && strstr(eb.msg, ":1:1: the file is larger than 1048576 "
	                               "bytes") != NULL,
	   "a file over 1 MiB: %s", eb.msg);
	policy_free(p);
	free(big);

	ok(policy_load(path, NULL) == NULL, "a NULL errbuf is allowed");
}

/* A relative key_file is taken from the policy's directory, even when
 * the policy is named by a relative path from somewhere else. */
static void
relative_key_file(void)
{
	char sub[PATH_MAX + 32], file[PATH_MAX + 64], real[PATH_MAX],
	    want[PATH_MAX + 16];
	const char *text = "{\"arc_seal\": {\"domain\": \"example.net\", "
	                   "\"selector\": \"arc\", \"key_file\": \"k.pem\"}}";
	int here = open(".", O_RDONLY | O_DIRECTORY);
	struct errbuf eb;
	struct policy *p = NULL;

	tmp_path(sub, sizeof(sub), "sub");
	snprintf(file, sizeof(file), "%s/k.pem", sub);
	if (mkdir(sub, 0700) == 0 && spew(file, "k\n", 2) == 0 &&
	    realpath(sub, real) != NULL && chdir(tmpdir) == 0) {
		snprintf(file, sizeof(file), "%s/policy.json", sub);
		spew(file, text, strlen(text));
		p = policy_load("sub/policy.json", &eb);
		if (p == NULL)
			diag("%s", eb.msg);
	}
	snprintf(want, sizeof(want), "%s/k.pem", real);
	is_str(p != NULL ? p->arc_seal.key_file : NULL, want,
	       "relative key_file from sub/policy.json");
	ok(p != NULL && p->arc_seal.enabled, "arc_seal present: enabled");
	policy_free(p);
	if (fchdir(here) != 0)
		perror("fchdir");
	close(here);
	unlink(file);
	snprintf(file, sizeof(file), "%s/k.pem", sub);
	unlink(file);
	rmdir(sub);
}

int
main(void)
{
	const char *t = getenv("TMPDIR");

	snprintf(tmpdir, sizeof(tmpdir), "%s/policy_test.XXXXXX",
	         t != NULL && *t != '\0' ? t : "/tmp");
	if (mkdtemp(tmpdir) == NULL) {
		printf("Bail out! mkdtemp %s: %s\n", tmpdir, strerror(errno));
		return 1;
	}
	find_tests();
	member_tests();
	scanner_limits();
	action_defaults();
	other_defaults();
	file_errors();
	relative_key_file();
	data_cases();
	rmdir(tmpdir);
	return done_testing();
}
