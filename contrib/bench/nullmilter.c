/*
 * nullmilter: the protocol floor.  A libmilter milter that reads every
 * message and accepts it, changing nothing.  It negotiates the steps
 * authmilter negotiates (no reply for connect, helo, MAIL and headers; no
 * RCPT, no DATA), so the MTA sends it the same packets, and it takes the
 * body the way authmilter does: each chunk answered.
 *
 *     nullmilter -p SOCKET [-a] [-d]
 *
 * -a: insert one header at end of message, as a verifier inserts its
 *     Authentication-Results.  Over TCP the header and the decision are
 *     two small writes, and Nagle holds the second until the MTA's
 *     delayed ACK (40 ms on Linux): every message then takes 40 ms.
 * -d: set TCP_NODELAY on the listening socket, which accepted sockets
 *     inherit on Linux: the cure for the above (libmilter never shows a
 *     milter its sockets).
 *
 * It runs in the foreground until SIGTERM or SIGINT.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libmilter/mfapi.h>

static int add_header;

static sfsistat
nm_negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1, unsigned long f2,
             unsigned long f3, unsigned long *pf0, unsigned long *pf1,
             unsigned long *pf2, unsigned long *pf3)
{
	*pf0 = f0 & SMFIF_ADDHDRS;
	*pf1 = f1 & (SMFIP_NORCPT | SMFIP_NOUNKNOWN | SMFIP_NODATA |
	             SMFIP_NR_CONN | SMFIP_NR_HELO | SMFIP_NR_MAIL |
	             SMFIP_NR_HDR | SMFIP_NR_EOH | SMFIP_HDR_LEADSPC);
	*pf2 = *pf3 = 0;
	return SMFIS_CONTINUE;
}

static sfsistat
nm_noreply(SMFICTX *ctx)
{
	return SMFIS_NOREPLY;
}

static sfsistat
nm_connect(SMFICTX *ctx, char *host, _SOCK_ADDR *sa)
{
	return nm_noreply(ctx);
}

static sfsistat
nm_helo(SMFICTX *ctx, char *helo)
{
	return nm_noreply(ctx);
}

static sfsistat
nm_envfrom(SMFICTX *ctx, char **argv)
{
	return nm_noreply(ctx);
}

static sfsistat
nm_header(SMFICTX *ctx, char *name, char *value)
{
	return nm_noreply(ctx);
}

static sfsistat
nm_body(SMFICTX *ctx, unsigned char *chunk, size_t len)
{
	return SMFIS_CONTINUE;
}

static sfsistat
nm_eom(SMFICTX *ctx)
{
	if (add_header &&
	    smfi_insheader(ctx, 0, "Authentication-Results",
	                   " null.bench.example; none") != MI_SUCCESS)
		return SMFIS_TEMPFAIL;
	return SMFIS_ACCEPT;
}

static struct smfiDesc desc = {
    .xxfi_name = "nullmilter",
    .xxfi_version = SMFI_VERSION,
    .xxfi_flags = SMFIF_ADDHDRS,
    .xxfi_connect = nm_connect,
    .xxfi_helo = nm_helo,
    .xxfi_envfrom = nm_envfrom,
    .xxfi_header = nm_header,
    .xxfi_eoh = nm_noreply,
    .xxfi_body = nm_body,
    .xxfi_eom = nm_eom,
    .xxfi_negotiate = nm_negotiate,
};

/* libmilter keeps its listening socket to itself: find it among our
 * descriptors (SO_ACCEPTCONN) and turn Nagle off on it. */
static int
listen_nodelay(void)
{
	int fd, on, one = 1, done = 0;
	socklen_t len;

	for (fd = 3; fd < 1024; fd++) {
		len = sizeof(on);
		if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &on, &len) == 0 &&
		    on &&
		    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one,
		               sizeof(one)) == 0)
			done++;
	}
	return done;
}

int
main(int argc, char **argv)
{
	const char *sock = NULL;
	int c, nodelay = 0;

	while ((c = getopt(argc, argv, "p:ad")) != -1) {
		if (c == 'p')
			sock = optarg;
		else if (c == 'a')
			add_header = 1;
		else if (c == 'd')
			nodelay = 1;
		else
			sock = NULL, optind = argc + 1;
	}
	if (sock == NULL || optind != argc) {
		fputs("usage: nullmilter -p SOCKET [-a] [-d]\n", stderr);
		return 2;
	}
	if (smfi_setconn((char *)sock) != MI_SUCCESS ||
	    smfi_setbacklog(4096) != MI_SUCCESS ||
	    smfi_register(desc) != MI_SUCCESS) {
		fputs("nullmilter: setup failed\n", stderr);
		return 1;
	}
	if (nodelay &&
	    (smfi_opensocket(0) != MI_SUCCESS || listen_nodelay() == 0)) {
		fputs("nullmilter: cannot set TCP_NODELAY\n", stderr);
		return 1;
	}
	return smfi_main() == MI_SUCCESS ? 0 : 1;
}
