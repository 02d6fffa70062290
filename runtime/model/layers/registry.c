/* registry.c: the table of layer kinds and parameter declaration. */
#include "runtime/model/layers/layer.h"

#include <stdio.h>
#include <string.h>

extern const pg_layer_kind pg_layer_linear, pg_layer_relu, pg_layer_gelu, pg_layer_layernorm,
    pg_layer_resmlp, pg_layer_mse, pg_layer_xent, pg_layer_emulated, pg_layer_embed,
    pg_layer_block, pg_layer_lmhead;

static const pg_layer_kind *const KINDS[] = {
    &pg_layer_linear, &pg_layer_relu, &pg_layer_gelu,   &pg_layer_layernorm,
    &pg_layer_resmlp, &pg_layer_mse,  &pg_layer_xent, &pg_layer_emulated,
    &pg_layer_embed,  &pg_layer_block, &pg_layer_lmhead,
};

const pg_layer_kind *pg_layer_kind_find(const char *name)
{
    for (size_t i = 0; i < sizeof KINDS / sizeof KINDS[0]; i++)
        if (!strcmp(KINDS[i]->name, name)) return KINDS[i];
    return NULL;
}

void pg_layer_kinds_print(FILE *f)
{
    for (size_t i = 0; i < sizeof KINDS / sizeof KINDS[0]; i++)
        fprintf(f, "    %s\n", KINDS[i]->usage);
}

pg_param *pg_layer_add_param(pg_layer *l, const char *name, int d0, int d1, pg_init init,
                             float std, int decay)
{
    if (l->nparams >= PG_MAX_PARAMS) return NULL;
    pg_param *p = &l->params[l->nparams++];
    memset(p, 0, sizeof *p);
    snprintf(p->name, sizeof p->name, "%s", name);
    p->ndim = d1 > 0 ? 2 : 1;
    p->dims[0] = d0;
    p->dims[1] = d1 > 0 ? d1 : 1;
    p->n = (size_t)d0 * (size_t)(d1 > 0 ? d1 : 1);
    p->init = init;
    p->std = std;
    p->decay = decay;
    return p;
}

double pg_layer_fixed_time(const pg_layer *l, int phase, pg_shape s)
{
    if (l->kind != &pg_layer_emulated) return 0.0;
    return l->arg.emulated.seconds[phase] * (l->arg.emulated.per_sample ? s.B : 1);
}

size_t pg_layer_nothing_saved(const pg_layer *l, pg_shape s)
{
    (void)l, (void)s;
    return 0;
}

void pg_layer_no_weight_grad(const pg_layer *l, const pg_ops *o, const pg_mb *mb,
                             const float *in, const float *saved, const float *dout,
                             const float *gsaved)
{
    (void)l, (void)o, (void)mb, (void)in, (void)saved, (void)dout, (void)gsaved;
}
