/* Unit tests for work: jobs run, in any thread, and are waited for. */
#include "config.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

#include "work.h"
#include "../lib/tap.h"

static atomic_int ran;

static void
count(void *arg)
{
	int *slot = arg;

	usleep(1000);
	*slot = 1;
	atomic_fetch_add(&ran, 1);
}

int
main(void)
{
	enum { N = 200 };
	struct work *w = work_new(4);
	struct job *jobs[N];
	int slots[N] = {0};
	int all = 1, waited = 0;

	ok(w != NULL, "a pool of 4 threads");
	for (int i = 0; i < N; i++)
		jobs[i] = work_submit(w, count, &slots[i]);
	for (int i = 0; i < N; i++) {
		if (jobs[i] == NULL) {
			count(&slots[i]); /* the caller's fallback */
			continue;
		}
		job_wait(jobs[i]);
		waited += job_done(jobs[i]);
		job_free(jobs[i]);
	}
	for (int i = 0; i < N; i++)
		all &= slots[i];
	ok(all, "every job ran");
	is_int(atomic_load(&ran), N, "each exactly once");
	is_int(waited, N, "job_done is true after job_wait");
	slots[0] = 0;
	jobs[0] = work_submit(w, count, &slots[0]);
	work_free(w);
	ok(jobs[0] != NULL && slots[0] == 1, "work_free runs what is queued");
	job_free(jobs[0]); /* touches only the job, not the freed pool */
	ok(work_submit(NULL, count, &slots[0]) == NULL, "no pool, no job");
	return done_testing();
}
