/* kenyon: every public header of the full library (libkenyon over libkenyon_core). Programs that
 * only train and run learners include kenyon/core.h and link the core alone; this header adds
 * plots, progress, data fetching, the kana stand-in, features, the benchmark, the SGD dynamics and
 * the RL models.
 *
 *   cc app.c $(pkg-config --cflags --libs kenyon) */
#ifndef KENYON_KENYON_H
#define KENYON_KENYON_H

#include "kenyon/core.h"

/* display: plots, progress */
#include "kenyon/plot.h"
#include "kenyon/plot_figures.h"
#include "kenyon/progress.h"
#include "kenyon/plot_figures.h"
/* host: fetching the data, the per-run peak-memory mark */
#include "kenyon/fetch.h"
#include "kenyon/peak_memory.h"
/* the kana stand-in for KMNIST, features, the benchmark */
#include "kenyon/kana.h"
#include "kenyon/features.h"
#include "kenyon/resnet18.h"
#include "kenyon/bench.h"
/* the limiting dynamics of SGD */
#include "kenyon/dynamics.h"
/* RL and the brain */
#include "kenyon/td.h"
#include "kenyon/disttd.h"
#include "kenyon/bandit.h"
#include "kenyon/metarl.h"

#endif
