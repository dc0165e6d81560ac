/*
 * action: apply a decision to the message through libmilter.
 *
 * For reject and tempfail it sets the SMTP reply (code, enhanced status
 * code, text made safe for smfi_setreply) and returns the matching
 * SMFIS_* code; nothing else changes.  Otherwise it removes the
 * Authentication-Results fields that claim our authserv-id and any tag
 * header that did not come from us (highest occurrence first, because
 * smfi_chgheader counts occurrences), inserts our Authentication-Results
 * at the top, adds the tag header for "tag", quarantines for
 * "quarantine", and returns SMFIS_ACCEPT (or SMFIS_DISCARD).
 *
 * A libmilter failure while changing headers returns SMFIS_TEMPFAIL: the
 * message is not let through without the header that says what we found.
 *
 * Only this file and callbacks.c call smfi_*.
 */
#ifndef AUTHMILTER_ACTION_H
#define AUTHMILTER_ACTION_H

#include <libmilter/mfapi.h>

struct message;
struct decision;

/* Apply d to message m; authres is our A-R field value (leading space
 * included), or NULL when it could not be built (forged fields are still
 * removed). */
sfsistat action_apply(SMFICTX *ctx, const struct message *m,
                      const struct decision *d, const char *authres);

#endif
