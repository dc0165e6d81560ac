/*
 * action: turn a decision into MTA actions (see action.h).
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "action.h"
#include "buf.h"
#include "dkim_sign.h"
#include "log.h"
#include "message.h"
#include "policy.h"
#include "result.h"
#include "session.h"

/* Reply text for smfi_setreply: printable ASCII only, '%' doubled. */
static void
safe_text(const char *in, char *out, size_t outsz)
{
	size_t o = 0;

	for (; *in != '\0' && o + 3 < outsz; in++) {
		unsigned char c = (unsigned char)*in;

		if (c == '%')
			out[o++] = '%';
		out[o++] = (c >= 0x20 && c < 0x7f) ? (char)c : ' ';
	}
	out[o] = '\0';
}

static sfsistat
reply(SMFICTX *ctx, const struct decision *d)
{
	char text[sizeof(d->text) * 2];

	safe_text(d->text, text, sizeof(text));
	if (smfi_setreply(ctx, (char *)d->code, (char *)d->xcode, text) !=
	    MI_SUCCESS)
		log_msg(LOG_WARNING, "smfi_setreply failed for \"%s\"", text);
	return d->action == ACTION_REJECT ? SMFIS_REJECT : SMFIS_TEMPFAIL;
}

/* Delete occurrences of a header, highest first. */
static int
delete_all(SMFICTX *ctx, const char *name, const struct idxlist *l)
{
	for (size_t i = l->n; i > 0; i--)
		if (smfi_chgheader(ctx, (char *)name, (int)l->v[i - 1], NULL) !=
		    MI_SUCCESS)
			return -1;
	return 0;
}

/* The header value as handed to the MTA: without our leading space
 * unless SMFIP_HDR_LEADSPC was agreed (then the MTA adds none). */
static const char *
mta_value(const struct message *m, const char *v)
{
	if (!(m->s->protocol & SMFIP_HDR_LEADSPC) && v[0] == ' ')
		return v + 1;
	return v;
}

/* The tag header value: the names of the keys whose action is "tag". */
static int
add_tag(SMFICTX *ctx, const struct message *m)
{
	const struct policy *p = m->s->policy;
	struct buf b;
	int rc = 0;

	buf_init(&b, 1000);
	for (size_t i = 0; i < resultset_count(m->results); i++) {
		const struct result *r = resultset_get(m->results, i);

		if (r->key >= 0 && p->actions[r->key] == ACTION_TAG)
			rc |= buf_printf(&b, "%s%s", b.len ? ", " : " ",
			                 policy_key_name(r->key));
	}
	if (rc == 0 &&
	    smfi_addheader(ctx, p->tag_header,
	                   (char *)mta_value(m, buf_cstr(&b))) != MI_SUCCESS)
		rc = -1;
	buf_free(&b);
	return rc;
}

/* Our DKIM-Signature fields, on top (above our A-R, which they do not
 * sign). */
static int
add_signatures(SMFICTX *ctx, const struct message *m)
{
	size_t n = m->sign != NULL ? dkim_sign_count(m->sign) : 0;

	for (size_t i = n; i > 0; i--) {
		const char *v = dkim_sign_value(m->sign, i - 1);

		if (v[0] != '\0' &&
		    smfi_insheader(ctx, 0, "DKIM-Signature",
		                   (char *)mta_value(m, v)) != MI_SUCCESS)
			return -1;
	}
	return 0;
}

/* Our ARC set on top: AAR, then AMS, then AS, so the seal comes first
 * (RFC 8617 section 5.1). */
static int
add_seal(SMFICTX *ctx, const struct message *m)
{
	const struct {
		const char *name;
		const struct buf *v;
	} f[] = {{"ARC-Authentication-Results", &m->seal.aar},
	         {"ARC-Message-Signature", &m->seal.ams},
	         {"ARC-Seal", &m->seal.as}};

	for (size_t i = 0; i < 3; i++)
		if (f[i].v->len > 0 &&
		    smfi_insheader(ctx, 0, (char *)f[i].name,
		                   (char *)mta_value(m, buf_cstr(f[i].v))) !=
		        MI_SUCCESS)
			return -1;
	return 0;
}

sfsistat
action_apply(SMFICTX *ctx, const struct message *m, const struct decision *d,
             const char *authres)
{
	const struct policy *p = m->s->policy;

	if (d->action == ACTION_REJECT || d->action == ACTION_TEMPFAIL)
		return reply(ctx, d);
	if (d->action == ACTION_DISCARD)
		return SMFIS_DISCARD;
	if (delete_all(ctx, "Authentication-Results", &m->forged) != 0 ||
	    delete_all(ctx, p->tag_header, &m->tags) != 0)
		goto fail;
	if (m->received_spf.len > 0 &&
	    smfi_insheader(ctx, 0, "Received-SPF",
	                   (char *)mta_value(m, buf_cstr(&m->received_spf))) !=
	        MI_SUCCESS)
		goto fail;
	if (authres != NULL &&
	    smfi_insheader(ctx, 0, "Authentication-Results",
	                   (char *)mta_value(m, authres)) != MI_SUCCESS)
		goto fail;
	if (add_signatures(ctx, m) != 0 || add_seal(ctx, m) != 0)
		goto fail;
	if (d->action == ACTION_TAG && add_tag(ctx, m) != 0)
		goto fail;
	if (d->action == ACTION_QUARANTINE &&
	    smfi_quarantine(ctx, (char *)d->text) != MI_SUCCESS)
		goto fail;
	return SMFIS_ACCEPT;
fail:
	log_msg(LOG_ERR, "%s: the MTA refused a header change; tempfail",
	        m->qid);
	return SMFIS_TEMPFAIL;
}
