/* kenyon's embeddable core: every public header of libkenyon_core, the part of kenyon a program
 * embeds to train and run continual learners. It links only BLAS/LAPACKE, zlib, cJSON and OpenMP;
 * nothing in it draws, prints progress, fetches data, renders fonts or spawns processes.
 *
 *   cc app.c $(pkg-config --cflags --libs kenyon-core)
 *
 * (see examples/embed_fly.c). kenyon/kenyon.h adds the full library on top. */
#ifndef KENYON_CORE_H
#define KENYON_CORE_H

/* errors, clock, argmax, random numbers, files, samples in memory */
#include "kenyon/error.h"
#include "kenyon/argmax.h"
#include "kenyon/clock.h"
#include "kenyon/rng.h"
#include "kenyon/fileio.h"
#include "kenyon/samples.h"
/* data: file formats, named data sets and user files, task streams */
#include "kenyon/formats.h"
#include "kenyon/data_load.h"
#include "kenyon/tasks.h"
/* model files */
#include "kenyon/safetensors.h"
/* networks */
#include "kenyon/nn.h"
#include "kenyon/vae.h"
#include "kenyon/lstm.h"
/* continual learning: FlyModel, the learner interface, the protocol */
#include "kenyon/fly.h"
#include "kenyon/learner.h"
#include "kenyon/protocol.h"

#endif
