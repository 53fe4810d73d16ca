/* The LeNet5 features of a loaded split as the experiment layer asks for them (the
 * kn_experiment_features_fn of kenyon/experiment.h): the extractor trained and cached by
 * kn_features_lenet_cached with its default options, and the description that reports carry.
 * The experiment layer takes this function from its caller, so embedding the layer does not
 * pull in the network trainer or the kana renderer. */
#include <inttypes.h>
#include <stdio.h>

#include "kenyon/features.h"

int kn_features_lenet_apply(const char *data_dir, FILE *log, kn_split *split, char *label,
                            size_t label_size, kn_error *err)
{
    kn_feature_cache_options fo;
    kn_feature_cache_options_default(&fo);
    fo.data_dir = data_dir;
    fo.log = log;
    int rc = kn_features_lenet_cached(&fo, split, err);
    snprintf(label, label_size,
             "lenet (84-d LeNet5 features; extractor trained on the pretraining set with seed "
             "%" PRIu64 ", %d epochs)",
             fo.seed, fo.epochs);
    return rc;
}
