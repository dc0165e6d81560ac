/*
 * metrics: counters for operators, served in the Prometheus text format
 * when the policy sets metrics.listen ("127.0.0.1:9891" or "[::1]:9891").
 *
 *   authmilter_messages_total{direction}         messages finished
 *   authmilter_results_total{method,result}      every result written
 *   authmilter_actions_total{action}             decisions applied
 *   authmilter_messages_in_flight                messages begun, not ended
 *   authmilter_connections                       open MTA connections
 *   authmilter_message_seconds (histogram)       MAIL FROM to decision
 *   authmilter_dns_*                             resolver counters
 *
 * The counters are process-wide atomics that the milter threads only add
 * to; nothing reads them back to decide anything, so they are not state
 * in the sense of DESIGN.md section 3.  The endpoint is one thread
 * serving one short request at a time (GET /metrics; anything else 404),
 * reading at most METRICS_REQUEST_MAX bytes with a timeout.
 *
 * metrics_start() is called once at start-up (a new metrics.listen takes
 * effect at the next restart); metrics_stop() at shutdown.
 */
#ifndef AUTHMILTER_METRICS_H
#define AUTHMILTER_METRICS_H

#include <stdbool.h>
#include <stdint.h>

#include "buf.h"
#include "errbuf.h"
#include "policy.h"

#define METRICS_REQUEST_MAX 4096

struct resultset;

/* A message began (MAIL FROM) / ended (end of message or abort). */
void metrics_message_begin(void);
void metrics_message_end(void);

/* A message was decided: its direction, results, action and duration. */
void metrics_message(bool outbound, const struct resultset *rs, enum action a,
                     int64_t ms);

/* Write the exposition text; 0 or a BUF_* error. */
int metrics_format(struct buf *out);

/* Serve metrics on listen ("IP:PORT" or "[IPv6]:PORT"); 0, or -1 with eb. */
int metrics_start(const char *listen, struct errbuf *eb);
void metrics_stop(void);

#endif
