/*
 * callbacks: the libmilter entry points (xxfi_*).
 *
 * Each callback is a few lines: find the session behind smfi_getpriv,
 * hand the event to session.c / message.c, and answer.  Only the steps we
 * use are negotiated (no RCPT, DATA, unknown commands, and no body until a
 * method needs it), all with the no-reply flags where the MTA offers them,
 * and SMFIP_HDR_LEADSPC so header values arrive byte-exact.  Nothing is
 * rejected before end-of-message; a session that could not be set up
 * answers every message with the policy's on_error action.
 *
 * callbacks_active() counts open connections, callbacks_messages() the
 * messages in progress, for metrics and a graceful stop.
 */
#ifndef AUTHMILTER_CALLBACKS_H
#define AUTHMILTER_CALLBACKS_H

#include <libmilter/mfapi.h>

/* The filter description to give smfi_register(). */
struct smfiDesc *callbacks_desc(void);

/* Connections open right now, and messages in progress on them. */
unsigned callbacks_active(void);
unsigned callbacks_messages(void);

/* End-of-message callbacks running now (a stop waits for them). */
unsigned callbacks_deciding(void);

#endif
