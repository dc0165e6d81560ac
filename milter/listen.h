/*
 * listen: process and listening-socket settings made before serving.
 */
#ifndef AUTHMILTER_LISTEN_H
#define AUTHMILTER_LISTEN_H

#include <stdbool.h>

#include "errbuf.h"

/* Raise the descriptor soft limit to the hard limit. */
int listen_raise_nofile(struct errbuf *eb);

/* Set TCP_NODELAY on every listening TCP socket of the process (the one
 * smfi_opensocket() made), so accepted connections inherit it. */
int listen_set_nodelay(struct errbuf *eb);

#endif
