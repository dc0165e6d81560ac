/*
 * policy: the immutable policy model, its loading and its evaluation.
 *
 * policy_load() (policy_load.c) reads the JSON policy file strictly, from
 * one declarative table of keys: unknown keys, duplicate keys, wrong types,
 * out-of-range values, bad CIDRs and unreadable key files are errors,
 * reported as "file:line:column: message" (positions from policy_pos.c).
 * Every key is optional; absent keys take the defaults documented in
 * policy/schema.json and authmilter-policy(5).
 *
 * policy_decide() (policy.c) maps the result records of one message to one
 * action: each result may name an action key (result.h); the policy maps
 * each key to an action, and the most severe action wins
 * (accept < tag < quarantine < tempfail < discard < reject).
 *
 * Ownership: policy_load() returns an owned policy, freed with
 * policy_free().  After loading, a policy is never modified: it is shared
 * read-only by every thread through the configuration snapshot (conf.h).
 */
#ifndef AUTHMILTER_POLICY_H
#define AUTHMILTER_POLICY_H

#include <stdbool.h>
#include <stddef.h>

#include "cidr.h"
#include "errbuf.h"

struct resultset;
struct result;

enum action {
	ACTION_ACCEPT,
	ACTION_TAG,
	ACTION_QUARANTINE,
	ACTION_TEMPFAIL,
	ACTION_DISCARD,
	ACTION_REJECT,
	ACTION_COUNT
};

/*
 * Action keys: the names under "actions" in the policy file.  The order
 * here is the order of the table in policy.c; never rename a key.
 */
enum policy_key {
	POLICY_K_IPREV_FAIL,
	POLICY_K_IPREV_TEMPERROR,
	POLICY_K_IPREV_PERMERROR,
	POLICY_K_SPF_FAIL,
	POLICY_K_SPF_SOFTFAIL,
	POLICY_K_SPF_NEUTRAL,
	POLICY_K_SPF_NONE,
	POLICY_K_SPF_TEMPERROR,
	POLICY_K_SPF_PERMERROR,
	POLICY_K_DKIM_FAIL,
	POLICY_K_DKIM_TEMPERROR,
	POLICY_K_DKIM_PERMERROR,
	POLICY_K_DMARC_REJECT,
	POLICY_K_DMARC_QUARANTINE,
	POLICY_K_DMARC_BAD_FROM,
	POLICY_K_DMARC_TEMPERROR,
	POLICY_K_DMARC_PERMERROR,
	POLICY_K_ARC_FAIL,
	POLICY_K_ARC_OVERRIDE,
	POLICY_K_COUNT
};

enum dmarc_mode { DMARC_MODE_RFC9989, DMARC_MODE_RFC7489 };

enum body_length {
	BODY_LENGTH_NO_PASS, /* an l= signature over more body than signed: not
	                        pass */
	BODY_LENGTH_ALLOW    /* l= is honoured; the extra content is ignored */
};

/* c= of signatures we make: header/body. */
enum canon_pair {
	CANON_SIMPLE_SIMPLE,
	CANON_SIMPLE_RELAXED,
	CANON_RELAXED_SIMPLE,
	CANON_RELAXED_RELAXED
};

struct policy_signkey {
	char *domain; /* lower-cased */
	char *selector;
	char *algorithm; /* "rsa-sha256" or "ed25519-sha256" */
	char *key_file;
};

struct policy {
	char *file;           /* the path it was loaded from */
	char *authserv_id;    /* default: the host name */
	char *listen;         /* default: inet:8891@127.0.0.1 */
	char *user;           /* drop privileges to this user; NULL: stay */
	unsigned socket_mode; /* unix socket permissions, default 0660 */
	enum action on_error; /* accept, tempfail or reject */
	int log_facility;     /* syslog facility, default LOG_MAIL */
	char *tag_header;     /* header added by the "tag" action */

	struct {
		char **servers; /* "IP" or "IP@PORT" */
		size_t nservers;
		unsigned timeout_ms;
		char *unbound_config;
	} dns;

	struct cidr *internal; /* internal_networks */
	size_t ninternal;

	struct {
		bool iprev;
		bool spf;
		bool spf_received_spf; /* add a Received-SPF field too */
		bool dkim;
		unsigned dkim_min_rsa_bits;
		unsigned dkim_max_signatures;
		enum body_length dkim_body_length;
		bool dmarc;
		enum dmarc_mode dmarc_mode;
		bool dmarc_enforce;
		char *dmarc_psl_file; /* RFC 7489 mode: public suffix list */
		char **dmarc_never_reject_domains; /* lower-cased */
		size_t ndmarc_never_reject_domains;
		struct cidr *dmarc_never_reject_networks;
		size_t ndmarc_never_reject_networks;
		bool arc;
		char **arc_trusted_sealers; /* lower-cased domains */
		size_t narc_trusted_sealers;
	} verify;

	struct {
		struct policy_signkey *keys;
		size_t nkeys;
		enum canon_pair canonicalization;
		char **headers; /* fields signed when present */
		size_t nheaders;
		char **oversign; /* fields signed once more than present */
		size_t noversign;
		unsigned expire_seconds; /* x= = t= + this; 0: no x= */
		enum action missing_key; /* accept or tempfail */
	} sign;

	struct {
		bool enabled;
		char *domain;
		char *selector;
		char *key_file;
	} arc_seal;

	enum action actions[POLICY_K_COUNT];

	struct {
		char *listen; /* NULL: no metrics endpoint */
	} metrics;
};

/* The outcome of policy_decide(). */
struct decision {
	enum action action;
	int key;                  /* the policy key that decided, or -1 */
	const struct result *why; /* the result behind it (borrowed), or NULL */
	char code[4];             /* SMTP reply code for reject/tempfail */
	char xcode[12];           /* enhanced status code */
	char text[256];           /* reply text */
};

/* Load and validate a policy file; NULL with "file:line:column: message" in eb.
 */
struct policy *policy_load(const char *path, struct errbuf *eb);

/* Free a policy (NULL is allowed). */
void policy_free(struct policy *p);

/* The effective policy (every default filled in) as canonical JSON:
 * sorted keys, two-space indent; 0 or a BUF_* error. */
struct buf;
int policy_dump(const struct policy *p, struct buf *out);

/* Decide the action for one message's results. */
void policy_decide(const struct policy *p, const struct resultset *rs,
                   struct decision *d);

/* Outbound mail that should be signed but cannot be: raise d to
 * sign.missing_key (tempfail) when that is more severe. */
void policy_decide_unsigned(const struct policy *p, const char *why,
                            struct decision *d);

/* The decision used when the daemon cannot decide (on_error). */
void policy_decide_error(const struct policy *p, const char *why,
                         struct decision *d);

/* The deadline for one whole SPF evaluation: several lookups in a row,
 * within RFC 7208 section 4.6.4's "at least 20 seconds" for the lot. */
unsigned policy_spf_timeout_ms(const struct policy *p);

/* Whether any enabled method reads the message body. */
bool policy_needs_body(const struct policy *p);

/* Names: "accept", "tag", ...; policy key names "dmarc_reject", .... */
const char *action_name(enum action a);
int action_parse(const char *name); /* -1 if unknown */
const char *policy_key_name(enum policy_key k);
int policy_key_parse(const char *name); /* -1 if unknown */

/* The default action of a key (for the default on_error). */
enum action policy_key_default(enum policy_key k);

/* Whether an absent key takes the policy's on_error action instead
 * (dmarc_temperror: a needed answer is missing, so "cannot decide"). */
bool policy_key_inherits_on_error(enum policy_key k);

#endif
