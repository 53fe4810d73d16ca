/* Puts a split's test rows in task order (kenyon/tasks.h): the protocol evaluates each task from
 * its rows as one contiguous block, and a task whose rows are scattered over the test set (MNIST-20:
 * the five MNIST-digit tasks, 10,000 of 11,424 rows) was copied into a second test set of fresh
 * pages (31 MB, about 7% of a FlyModel run). Moving the rows in place needs no such copy. Within
 * a task the rows keep their file order, so every task's block holds the same rows in the same
 * order as the copy did: predictions, and so results, are unchanged. */
#include "kenyon/tasks.h"

#include <stdlib.h>
#include <string.h>

/* 1 when every row of the test set belongs to exactly one task, with dest[row] its position in
 * task order; 0 when some row is in no task or in two. */
static int task_positions(const kn_task_stream *ts, size_t n, size_t *dest)
{
    const size_t unset = SIZE_MAX;
    for (size_t i = 0; i < n; i++)
        dest[i] = unset;
    size_t at = 0;
    for (int t = 0; t < ts->n_tasks; t++)
        for (size_t q = 0; q < ts->tasks[t].n_test; q++) {
            size_t row = ts->tasks[t].test_idx[q];
            if (row >= n || dest[row] != unset)
                return 0;
            dest[row] = at++;
        }
    return at == n;
}

/* Moves row i of x (d floats) and y to dest[i], following each cycle of the permutation with the
 * row in hand held in one of two buffers (each step: save the row at the target, put the held row
 * there, swap the buffers); dest[i] is set to i once row i's place is filled. */
static void permute_rows(float *x, int32_t *y, size_t n, size_t d, size_t *dest, float *buf)
{
    const size_t row = d * sizeof *x;
    for (size_t start = 0; start < n; start++) {
        if (dest[start] == start)
            continue;
        float *held = buf, *spare = buf + d;
        memcpy(held, x + start * d, row);
        int32_t held_y = y[start];
        size_t to = dest[start];
        dest[start] = start;
        while (to != start) { /* place the held row at `to`, pick up the row that was there */
            memcpy(spare, x + to * d, row);
            memcpy(x + to * d, held, row);
            float *t = held;
            held = spare;
            spare = t;
            int32_t vy = y[to];
            y[to] = held_y;
            held_y = vy;
            size_t next = dest[to];
            dest[to] = to;
            to = next;
        }
        memcpy(x + start * d, held, row); /* the cycle's last row came back to start */
        y[start] = held_y;
    }
}

int kn_task_stream_group_test(kn_dataset *test, kn_task_stream *ts)
{
    int ordered = 1;
    for (int t = 0, at = 0; t < ts->n_tasks && ordered; t++)
        for (size_t q = 0; q < ts->tasks[t].n_test && ordered; q++, at++)
            ordered = ts->tasks[t].test_idx[q] == (size_t)at;
    if (ordered || test->n == 0)
        return 0;
    size_t *dest = malloc(test->n * sizeof *dest);
    float *held = malloc(2 * (test->d ? test->d : 1) * sizeof *held); /* two rows */
    int moved = 0;
    if (dest && held && task_positions(ts, test->n, dest)) {
        permute_rows(test->x, test->y, test->n, test->d, dest, held);
        size_t at = 0;
        for (int t = 0; t < ts->n_tasks; t++)
            for (size_t q = 0; q < ts->tasks[t].n_test; q++)
                ts->tasks[t].test_idx[q] = at++;
        moved = 1;
    }
    free(dest);
    free(held);
    return moved;
}
