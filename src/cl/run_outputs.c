/* A run's output set, written all or nothing: the results files (summary.json,
 * accuracy_matrix.csv) and the saved model are written and fsynced under temporary names and
 * renamed into place only when every one of them was written (kn_output_set_*, kenyon/fileio.h).
 * A model save that fails (disk full, read-only folder) therefore leaves no results behind. */
#include "kenyon/fileio.h"
#include "kenyon/learner.h"
#include "kenyon/protocol.h"

int kn_run_outputs_write(const char *out_dir, const char *save_path, const kn_run_info *info,
                         const kn_run_result *r, const kn_learner *l, kn_error *err)
{
    if (!out_dir && !save_path)
        return KN_OK;
    int rc = kn_output_set_begin(err);
    if (rc)
        return rc;
    if (out_dir)
        rc = kn_results_write(out_dir, info, r, err);
    if (!rc && save_path)
        rc = kn_learner_save(l, save_path, err);
    if (!rc)
        return kn_output_set_commit(err);
    kn_output_set_abort();
    return rc;
}
