/* Pieces of the experiment layer (src/exp) shared between its files: the log stream that turns
 * the caller's log callback into the FILE * the lower modules write to, and the data loading. */
#ifndef KENYON_EXP_INTERNAL_H
#define KENYON_EXP_INTERNAL_H

#include <stdio.h>

#include "kenyon/experiment.h"

/* A write-only stream whose text goes to cb->log (NULL when there is no log callback, or when
 * the stream cannot be made: the run then goes on silently). Close with fclose. */
FILE *kn_exp_log_open(const kn_experiment_callbacks *cb);

/* kn_experiment_load_data with the log already opened. */
int kn_exp_load(const kn_experiment_spec *s, FILE *log, kn_split *out, char *label,
                size_t label_size, kn_error *err);

#endif
