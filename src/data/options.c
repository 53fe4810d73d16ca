/* Defaults for data options and the data directory; see kenyon/data_load.h. */
#include "kenyon/data_load.h"

#include <stdlib.h>
#include <string.h>

const char *const kn_dataset_names[] = {"mnist20", "mnist", "fashion", "cifar100", NULL};

const char *kn_data_dir_default(void)
{
    const char *d = getenv("KENYON_DATA");
    return d && *d ? d : "./data";
}

void kn_data_options_default(kn_data_options *o)
{
    memset(o, 0, sizeof *o);
    o->balance = 1;
    o->seed = 0;
}
