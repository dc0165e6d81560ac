/*
 * milwire: the MTA side of the Sendmail milter protocol, version 6, as
 * bytes: building commands, cutting replies out of a byte stream, naming
 * decisions, and reading a message file the way an MTA presents it.
 *
 * It does no I/O on sockets, so a synchronous client (t/lib/mtc) and an
 * event-driven one (contrib/bench/mbench) can share it.  Only libmilter's
 * mfdef.h (command, reply and flag codes) is used: libmilter implements
 * the other side.
 *
 * Wire format: every packet is a 32-bit big-endian length, one command
 * byte, then length - 1 bytes of data; strings are NUL-terminated.
 *
 * The message file: headers, an empty line, the body, LF or CRLF line
 * ends.  A header section ends early at a line that is neither a header
 * ("name:") nor a continuation; that line starts the body.  A folded
 * header is kept as one header whose lines are joined by LF alone, as
 * Postfix sends it; the value is everything after the colon (its leading
 * space included).  The body gets CRLF line ends, a last line without one
 * gets one.
 *
 * Failure: functions that allocate return -1 when memory runs out (or a
 * length does not fit the protocol) and leave the buffer as it was;
 * milwire_msg_load() also reports why in a caller-owned buffer.
 *
 * Ownership: a struct milwire_buf owns its bytes (milwire_buf_free); a
 * struct milwire_msg owns its headers and body (milwire_msg_free).  No
 * globals: every function is thread-safe on distinct objects.
 */
#ifndef MILWIRE_H
#define MILWIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define MILWIRE_VERSION   6          /* the protocol version we speak */
#define MILWIRE_MAX_REPLY (1u << 20) /* largest reply data accepted */
#define MILWIRE_CHUNK     65535      /* body chunk, as Postfix sends it */

/* A growable byte string; a zeroed struct is an empty one. */
struct milwire_buf {
	unsigned char *p;
	size_t len;
	size_t cap;
};

int milwire_buf_add(struct milwire_buf *b, const void *p, size_t n);
/* Make room for n more bytes without using them. */
int milwire_buf_reserve(struct milwire_buf *b, size_t n);
void milwire_buf_free(struct milwire_buf *b);

/* Append one framed command with len bytes of data. */
int milwire_cmd(struct milwire_buf *b, int cmd, const void *data, size_t len);

/* SMFIC_OPTNEG offering version 6 and the given actions and steps. */
int milwire_optneg(struct milwire_buf *b, uint32_t actions, uint32_t steps);

/*
 * SMFIC_CONNECT: host as the MTA names the client; ip NULL sends the
 * unknown family (a local submission), else IPv4 or IPv6 by its form.
 */
int milwire_connect(struct milwire_buf *b, const char *host, const char *ip,
                    unsigned port);

/* SMFIC_MAIL or SMFIC_RCPT with "<addr>" (no ESMTP arguments). */
int milwire_addr(struct milwire_buf *b, int cmd, const char *addr);

/*
 * SMFIC_MACRO for the command stage_cmd: n name/value pairs; names are
 * sent as given (nlen bytes each, braces included).
 */
int milwire_macros(struct milwire_buf *b, int stage_cmd,
                   const char *const *name, const size_t *nlen,
                   const char *const *value, size_t n);

/*
 * SMFIC_HEADER: value as in the file (its leading space included); without
 * SMFIP_HDR_LEADSPC one leading space is dropped, as Postfix does.
 */
int milwire_header(struct milwire_buf *b, const char *name, const char *value,
                   uint32_t steps);

/*
 * Cut the first packet out of d[0..n): 1 with *cmd, *data, *len and *used
 * (bytes the packet took) filled, 0 when more bytes are needed, -1 when
 * the length field is out of range.
 */
int milwire_packet(const unsigned char *d, size_t n, int *cmd,
                   const unsigned char **data, size_t *len, size_t *used);

/* The milter's decision on one command. */
enum milwire_verdict {
	MILWIRE_NONE, /* not a decision */
	MILWIRE_CONTINUE,
	MILWIRE_ACCEPT,
	MILWIRE_REJECT,
	MILWIRE_TEMPFAIL,
	MILWIRE_DISCARD,
	MILWIRE_SKIP,
	MILWIRE_REPLY /* SMFIR_REPLYCODE */
};

/* The decision a reply command means, or MILWIRE_NONE. */
enum milwire_verdict milwire_verdict(int cmd);

/* Its name: "continue", "accept", ..., "reply". */
const char *milwire_verdict_name(enum milwire_verdict v);

/*
 * Macro stages, numbered as libmilter's SMFIM_* (mfapi.h): the command
 * each stage's SMFIC_MACRO goes with, its name, and its place in time
 * (eoh, stage 6, comes before eom, stage 5).
 */
enum {
	MILWIRE_MS_CONNECT,
	MILWIRE_MS_HELO,
	MILWIRE_MS_ENVFROM,
	MILWIRE_MS_ENVRCPT,
	MILWIRE_MS_DATA,
	MILWIRE_MS_EOM,
	MILWIRE_MS_EOH,
	MILWIRE_MSTAGES
};

extern const struct milwire_stage {
	const char *name;
	char cmd;
	int rank;
} milwire_stages[MILWIRE_MSTAGES];

/* Do two macro names match, ignoring braces ("{i}" is "i")? */
bool milwire_same_macro(const char *a, size_t alen, const char *b, size_t blen);

/* Take a 32-bit word or a NUL-terminated string from a reply's data. */
struct milwire_cursor {
	const unsigned char *p;
	size_t left;
};

bool milwire_u32(struct milwire_cursor *c, uint32_t *v);
bool milwire_str(struct milwire_cursor *c, const char **s, size_t *n);

/*
 * Append n bytes so that an event stays on one line: backslash, LF, CR and
 * TAB as \\ \n \r \t, other control bytes and DEL as \xhh.
 */
int milwire_escape(struct milwire_buf *b, const void *p, size_t n);

struct milwire_header {
	char *name;
	char *value; /* after the colon, leading space included */
};

struct milwire_msg {
	struct milwire_header *hdr;
	size_t nhdr;
	unsigned char *body; /* CRLF line ends */
	size_t bodylen;
};

/* Split a message held in memory; m is overwritten. */
int milwire_msg_parse(const unsigned char *d, size_t n, struct milwire_msg *m);

/* Read and split a file of at most max bytes; err gets the reason. */
int milwire_msg_load(const char *path, size_t max, struct milwire_msg *m,
                     char *err, size_t errsz);

void milwire_msg_free(struct milwire_msg *m);

#endif
