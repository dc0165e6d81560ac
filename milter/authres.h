/*
 * authres: build and read Authentication-Results header fields (RFC 8601).
 *
 * Building: authres_format() writes the field *value* for our results:
 *     " mx.example.net;\n\tiprev=pass smtp.remote-ip=192.0.2.1;\n\tspf=..."
 * (leading space included, because the milter negotiates
 * SMFIP_HDR_LEADSPC and must then supply it; one resinfo per folded line;
 * "none" when there are no results).  Property values and the authserv-id
 * that are not RFC 2045 tokens (and not dot-atoms / addresses where RFC 8601
 * allows those) are written as quoted-strings; reason= is always quoted;
 * comments have their parentheses and backslashes escaped.
 *
 * Reading: authres_parse() reads any A-R value (CFWS, comments, folding,
 * quoted strings, odd case, an optional version after the authserv-id)
 * into a struct authres_parsed: the authserv-id and every
 * method/result/reason/property.  authres_is_ours() is the forged-header
 * test of RFC 8601 section 5 (authserv-id equal, ignoring case).  Parsing
 * is bounded: at most AUTHRES_MAX_RESINFO resinfos, AUTHRES_MAX_PROPS
 * properties each; input beyond that is an error, never a crash.
 *
 * Ownership: authres_parsed is caller-owned storage; authres_parsed_free()
 * releases the strings inside it.  No globals; thread-safe.
 */
#ifndef AUTHMILTER_AUTHRES_H
#define AUTHMILTER_AUTHRES_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "result.h"

#define AUTHRES_MAX_RESINFO 64
#define AUTHRES_MAX_PROPS   16

struct authres_prop {
	char *ptype;    /* lower-cased: "smtp", "header", ... */
	char *property; /* lower-cased */
	char *value;    /* quoted-string unquoted */
};

struct authres_resinfo {
	char *method; /* lower-cased, without "/version" */
	char *result; /* lower-cased */
	char *reason; /* NULL when absent; unquoted */
	size_t nprops;
	struct authres_prop props[AUTHRES_MAX_PROPS];
};

struct authres_parsed {
	char *authserv_id; /* as written (case kept), unquoted */
	unsigned version;  /* 1 when absent */
	bool none;         /* the value was "id; none" */
	size_t nresinfo;
	struct authres_resinfo resinfo[AUTHRES_MAX_RESINFO];
};

/* Append the field value for rs to out; fold is the line break to use
 * between resinfos ("\n\t" for the milter, "\r\n\t" on the wire).
 * 0, or a BUF_* error. */
int authres_format(const char *authserv_id, const struct resultset *rs,
                   const char *fold, struct buf *out);

/* Parse an A-R field value (len bytes, not NUL-terminated, may hold
 * CRLF folding).  0 on success; -1 if it is not a valid A-R (out then
 * holds whatever was read, and must still be freed). */
int authres_parse(const char *value, size_t len, struct authres_parsed *out);

/* Free the strings in p (the struct itself is the caller's). */
void authres_parsed_free(struct authres_parsed *p);

/* Only the authserv-id: copied into id (NUL-terminated); 0, or -1 when
 * there is none or it does not fit. */
int authres_read_id(const char *value, size_t len, char *id, size_t idsz);

/* Whether the field claims our authserv-id (RFC 8601 section 5).  A
 * field whose id cannot be read (e.g. comments nested past the cap) is
 * ours when our id occurs anywhere in it: removal errs towards removing,
 * because a laxer reader downstream may still find our id there. */
bool authres_is_ours(const char *value, size_t len, const char *our_id);

#endif
