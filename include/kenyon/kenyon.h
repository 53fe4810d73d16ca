/* kenyon: every public header of the library. Embedders include this one file and link libkenyon
 * (see examples/embed_fly.c). Each module's header documents its own part. */
#ifndef KENYON_KENYON_H
#define KENYON_KENYON_H

/* core */
#include "kenyon/error.h"
#include "kenyon/rng.h"
#include "kenyon/fileio.h"
#include "kenyon/dataset.h"
/* data: formats, named data sets, task streams, the kana stand-in for KMNIST */
#include "kenyon/formats.h"
#include "kenyon/datasets.h"
#include "kenyon/tasks.h"
#include "kenyon/kana.h"
/* io: model files, plots, progress */
#include "kenyon/safetensors.h"
#include "kenyon/plot.h"
#include "kenyon/progress.h"
/* networks */
#include "kenyon/nn.h"
#include "kenyon/vae.h"
#include "kenyon/lstm.h"
/* continual learning: FlyModel, the learner interface, the protocol, features, the benchmark */
#include "kenyon/fly.h"
#include "kenyon/params.h"
#include "kenyon/learner.h"
#include "kenyon/protocol.h"
#include "kenyon/features.h"
#include "kenyon/experiment.h"
#include "kenyon/bench.h"
/* the limiting dynamics of SGD */
#include "kenyon/dynamics.h"
/* RL and the brain */
#include "kenyon/td.h"
#include "kenyon/disttd.h"
#include "kenyon/bandit.h"
#include "kenyon/metarl.h"

#endif
