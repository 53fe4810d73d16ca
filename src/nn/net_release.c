/* kn_net_release_buffers (kenyon/nn.h): gives back the memory a net's forward and backward
 * passes keep between calls (layer outputs, BatchNorm's normalised values, the input copy, the
 * gradient ping-pong buffers). They grow to the largest batch seen, which for a trained
 * network is usually the 1,024-row evaluation chunk of kn_net_predict (82 MB for GEM's
 * 784-3200-3200-20 net), and would otherwise stay resident while it trains on 64-row batches.
 * The next pass allocates what it needs again; the parameters, gradients and running statistics
 * are not touched, so results do not change. */
#include <stdlib.h>

#include "nn/nn_internal.h"

void kn_net_release_buffers(kn_net *net)
{
    if (!net)
        return;
    for (int i = 0; i < net->n_layers; i++) {
        kn_layer *L = &net->layers[i];
        free(L->out);
        free(L->aux);
        free(L->aux2);
        free(L->aux3);
        free(L->argmax);
        L->out = L->aux = L->aux2 = L->aux3 = NULL;
        L->argmax = NULL;
        L->out_cap = L->aux_cap = L->aux2_cap = L->aux3_cap = L->argmax_cap = 0;
    }
    free(net->input);
    free(net->gbuf[0]); /* gbuf[1] and sq[1] point into these */
    free(net->sq[0]);
    free(net->dloss);
    net->input = net->dloss = NULL;
    net->gbuf[0] = net->gbuf[1] = net->sq[0] = net->sq[1] = NULL;
    net->input_cap = net->gbuf_cap = net->sq_cap = net->dloss_cap = 0;
    net->n = 0; /* no forward state left to differentiate */
}
