/*
 * work: a fixed pool of threads running queued jobs (see work.h).
 *
 * One mutex guards the queue and every job's "done" flag; each job has
 * its own condition variable so a waiter wakes only for its job.
 */
#include "config.h"

#include <pthread.h>
#include <signal.h>
#include <stdlib.h>

#include "work.h"

struct job {
	struct job *next;
	work_fn *fn;
	void *arg;
	struct work *w;
	bool done;
	pthread_cond_t done_cond;
};

struct work {
	pthread_mutex_t lock;
	pthread_cond_t queue_cond;
	struct job *head, *tail;
	unsigned queued;
	bool stopping;
	unsigned nthreads;
	pthread_t *threads;
};

/* Take the next job, or NULL when stopping with an empty queue. */
static struct job *
next_job(struct work *w)
{
	struct job *j;

	pthread_mutex_lock(&w->lock);
	while (w->head == NULL && !w->stopping)
		pthread_cond_wait(&w->queue_cond, &w->lock);
	j = w->head;
	if (j != NULL) {
		w->head = j->next;
		if (w->head == NULL)
			w->tail = NULL;
		w->queued--;
	}
	pthread_mutex_unlock(&w->lock);
	return j;
}

static void *
worker(void *arg)
{
	struct work *w = arg;
	struct job *j;

	while ((j = next_job(w)) != NULL) {
		j->fn(j->arg);
		pthread_mutex_lock(&w->lock);
		j->done = true;
		pthread_cond_broadcast(&j->done_cond);
		pthread_mutex_unlock(&w->lock);
	}
	return NULL;
}

/* Start n threads with every signal blocked (only the main thread
 * handles signals, see main.c); returns how many started. */
static unsigned
start_threads(struct work *w, unsigned n)
{
	sigset_t all, old;
	unsigned i;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	for (i = 0; i < n; i++)
		if (pthread_create(&w->threads[i], NULL, worker, w) != 0)
			break;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return i;
}

struct work *
work_new(unsigned n)
{
	struct work *w = calloc(1, sizeof(*w));

	if (w == NULL)
		return NULL;
	w->threads = calloc(n, sizeof(*w->threads));
	if (w->threads == NULL || pthread_mutex_init(&w->lock, NULL) != 0) {
		free(w->threads);
		free(w);
		return NULL;
	}
	pthread_cond_init(&w->queue_cond, NULL);
	w->nthreads = start_threads(w, n);
	if (w->nthreads == 0) {
		work_free(w);
		return NULL;
	}
	return w;
}

void
work_free(struct work *w)
{
	if (w == NULL)
		return;
	pthread_mutex_lock(&w->lock);
	w->stopping = true;
	pthread_cond_broadcast(&w->queue_cond);
	pthread_mutex_unlock(&w->lock);
	for (unsigned i = 0; i < w->nthreads; i++)
		pthread_join(w->threads[i], NULL);
	pthread_cond_destroy(&w->queue_cond);
	pthread_mutex_destroy(&w->lock);
	free(w->threads);
	free(w);
}

struct job *
work_submit(struct work *w, work_fn *fn, void *arg)
{
	struct job *j;

	if (w == NULL || (j = calloc(1, sizeof(*j))) == NULL)
		return NULL;
	j->fn = fn;
	j->arg = arg;
	j->w = w;
	pthread_cond_init(&j->done_cond, NULL);
	pthread_mutex_lock(&w->lock);
	if (w->queued >= WORK_QUEUE_MAX || w->stopping) {
		pthread_mutex_unlock(&w->lock);
		pthread_cond_destroy(&j->done_cond);
		free(j);
		return NULL;
	}
	if (w->tail != NULL)
		w->tail->next = j;
	else
		w->head = j;
	w->tail = j;
	w->queued++;
	pthread_cond_signal(&w->queue_cond);
	pthread_mutex_unlock(&w->lock);
	return j;
}

void
job_wait(struct job *j)
{
	pthread_mutex_lock(&j->w->lock);
	while (!j->done)
		pthread_cond_wait(&j->done_cond, &j->w->lock);
	pthread_mutex_unlock(&j->w->lock);
}

bool
job_done(struct job *j)
{
	bool done;

	pthread_mutex_lock(&j->w->lock);
	done = j->done;
	pthread_mutex_unlock(&j->w->lock);
	return done;
}

void
job_free(struct job *j)
{
	if (j == NULL)
		return;
	pthread_cond_destroy(&j->done_cond);
	free(j);
}
