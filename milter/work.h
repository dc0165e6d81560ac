/*
 * work: a small pool of threads for evaluations that block on DNS answers
 * one after another (SPF's check_host() follows includes and redirects
 * step by step).  The milter callback submits the job the moment its
 * inputs are known (HELO, MAIL FROM) and collects it at end of message,
 * so the evaluation runs while the message is being received.
 *
 * Jobs must bound their own running time (every DNS wait has a deadline).
 * When the queue is longer than WORK_QUEUE_MAX, or a job cannot be
 * allocated, work_submit() returns NULL and the caller runs the job
 * itself later: nothing is lost, it only is not early.
 *
 * Ownership: work_new() returns an owned pool; work_free() runs every job
 * still queued, then stops the threads.  A job handle is owned by the
 * submitter: job_wait() then job_free().  Thread rules: all functions are
 * thread-safe except work_new/work_free.
 */
#ifndef AUTHMILTER_WORK_H
#define AUTHMILTER_WORK_H

#include <stdbool.h>

#define WORK_QUEUE_MAX 4096

struct work;
struct job;

typedef void work_fn(void *arg);

/* A pool of n threads (signals blocked in them); NULL on failure. */
struct work *work_new(unsigned n);

/* Run what is queued, stop the threads, free (NULL is allowed). */
void work_free(struct work *w);

/* Queue fn(arg); NULL when the queue is full or out of memory. */
struct job *work_submit(struct work *w, work_fn *fn, void *arg);

/* Block until the job has run. */
void job_wait(struct job *j);

/* Whether the job has run (never blocks). */
bool job_done(struct job *j);

/* Free a job that has run (NULL is allowed). */
void job_free(struct job *j);

#endif
