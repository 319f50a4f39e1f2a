#include "query_job.h"

#include <stdlib.h>
#include <string.h>

struct query_job *query_job_new(void)
{
    return calloc(1, sizeof(struct query_job));
}

void query_job_free(struct query_job *job)
{
    if (job == NULL)
        return;
    free(job->body);
    free(job->rows.positions);
    free(job->rows.values);
    free(job->rows.trades);
    free(job->rows.partitions);
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

void query_job_fail(struct query_job *job, int status, const char *message)
{
    free(job->body);
    job->body = api_error_body(message);
    job->body_length = job->body ? strlen(job->body) : 0;
    job->status = status;
}

void query_job_answer(struct query_job *job, struct json_text *text)
{
    if (text->failed) {
        free(text->data);
        query_job_fail(job, 500, "out of memory");
        return;
    }
    job->status = 200;
    job->body = text->data;
    job->body_length = text->length;
}
