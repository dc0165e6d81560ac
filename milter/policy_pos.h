/*
 * policy_pos: where a value or key sits in the text of a JSON document.
 *
 * jansson reports positions only for syntax errors, so the policy loader
 * asks this scanner for the line and column of the value (or key) it is
 * complaining about.  A path is a sequence of steps, each an object key
 * or an array index.  Lines and columns are 1-based; columns count
 * characters (UTF-8 code points), as jansson's do, so both kinds of error
 * agree.  Keys are compared after their escapes are decoded, so
 * "\u0061" finds "a".
 *
 * The text is meant to be valid JSON (jansson has parsed it already), but
 * the scanner never reads outside [text, text + len) whatever it is
 * given: on malformed text it just finds nothing.
 *
 * Ownership: every pointer is borrowed for the duration of the call.
 * Thread rules: none; no state.
 */
#ifndef AUTHMILTER_POLICY_POS_H
#define AUTHMILTER_POLICY_POS_H

#include <stdbool.h>
#include <stddef.h>

/* One step of a path: an object member, or an array element. */
struct pos_step {
	const char *key; /* member name (NUL-terminated), or NULL */
	size_t index;    /* element index when key is NULL */
};

struct pos {
	unsigned line;   /* 1-based */
	unsigned column; /* 1-based, in characters */
};

/*
 * Find the value at path (depth steps; none: the top-level value), or,
 * with key set, the key of the path's last step, which must be an
 * object member.  0, or -1 when the text holds no such value.
 */
int policy_pos_find(const char *text, size_t len, const struct pos_step *path,
                    size_t depth, bool key, struct pos *out);

/* The line and column of byte offset off (clamped to len). */
void policy_pos_offset(const char *text, size_t len, size_t off,
                       struct pos *out);

/*
 * Name the object member whose key token ends (just past its closing
 * quote) at byte offset end, which is where jansson stops on a duplicate
 * key; only the text before end need be well formed.  Writes the dotted
 * path of the object holding it ("" for the top level, "a.b[2]") and the
 * decoded key, each truncated to fit.  0, or -1 when no key ends there.
 */
int policy_pos_member(const char *text, size_t len, size_t end, char *path,
                      size_t pathsz, char *key, size_t keysz);

#endif
