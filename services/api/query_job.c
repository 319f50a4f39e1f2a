#include "query_job.h"

#include <stdlib.h>

struct query_job *query_job_new(void)
{
    return calloc(1, sizeof(struct query_job));
}

void query_job_free(struct query_job *job)
{
    if (job == NULL)
        return;
    free(job->body);
    free(job->rows.times_us);
    free(job->rows.values);
    free(job);
}

void query_job_free_list(struct query_job *job)
{
    while (job != NULL) {
        struct query_job *next = job->next;
        query_job_free(job);
        job = next;
    }
}
