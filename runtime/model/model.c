/* model.c: parsing the layer list and configuring every layer. */
#include "runtime/model/model.h"

#include "runtime/base/error.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#define MAX_LAYERS 4096

/* Split "N*kind:args" into repeat count, kind and args (in place). */
static int split_item(char *item, int *repeat, char **kind, char **args)
{
    *repeat = 1;
    char *star = strchr(item, '*');
    if (star) {
        char *end = NULL;
        long n = strtol(item, &end, 10);
        if (end != star || n < 1 || n > MAX_LAYERS) return -1;
        *repeat = (int)n;
        item = star + 1;
    }
    char *colon = strchr(item, ':');
    *kind = item;
    *args = colon ? colon + 1 : item + strlen(item);
    if (colon) *colon = '\0';
    return 0;
}

int pg_model_from_layers(pg_model **out, int input_width, const char *layers)
{
    *out = NULL;
    pg_model *m = calloc(1, sizeof *m);
    char *text = strdup(layers);
    if (!m || !text) {
        free(m);
        free(text);
        return pg_error(PG_ENOMEM, "model: out of memory");
    }
    m->input = PG_INPUT_FEATURES;
    m->input_width = input_width;
    m->T = 1;
    int rc = 0, width = input_width, cap = 0;
    for (char *save = NULL, *item = strtok_r(text, " \t\r\n", &save); item;
         item = strtok_r(NULL, " \t\r\n", &save)) {
        int repeat;
        char *kind_name, *args;
        char shown[128];
        snprintf(shown, sizeof shown, "%s", item);
        if (split_item(item, &repeat, &kind_name, &args)) {
            rc = pg_error(PG_EINVAL, "model.layers: bad repeat count in '%s'", shown);
            goto done;
        }
        const pg_layer_kind *kind = pg_layer_kind_find(kind_name);
        if (!kind) {
            rc = pg_error(PG_EINVAL, "model.layers: unknown layer kind '%s' in '%s'", kind_name,
                          shown);
            goto done;
        }
        for (int r = 0; r < repeat; r++) {
            if (m->nlayers >= MAX_LAYERS) {
                rc = pg_error(PG_EINVAL, "model.layers: more than %d layers", MAX_LAYERS);
                goto done;
            }
            if (m->nlayers == cap) {
                cap = cap ? 2 * cap : 16;
                pg_layer *grown = realloc(m->layers, sizeof(pg_layer) * (size_t)cap);
                if (!grown) {
                    rc = pg_error(PG_ENOMEM, "model: out of memory");
                    goto done;
                }
                m->layers = grown;
            }
            if (m->nlayers > 0 && m->layers[m->nlayers - 1].kind->is_loss) {
                rc = pg_error(PG_EINVAL,
                              "model.layers: layer %d (%s) follows the loss layer; the loss "
                              "must be last",
                              m->nlayers, kind_name);
                goto done;
            }
            pg_layer *l = &m->layers[m->nlayers];
            memset(l, 0, sizeof *l);
            l->kind = kind;
            l->index = m->nlayers;
            l->in_width = width;
            if ((rc = kind->configure(l, args))) { /* name the key the layer came from */
                char why[512];
                snprintf(why, sizeof why, "%s", pg_errmsg());
                rc = pg_error(rc, "model.layers: %s", why);
                goto done;
            }
            width = l->out_width;
            m->nlayers++;
        }
    }
    if (m->nlayers < 2 || !m->layers[m->nlayers - 1].kind->is_loss) {
        rc = pg_error(PG_EINVAL,
                      "model.layers: expected at least one layer followed by a loss layer "
                      "(mse or xent) at the end, got '%s'",
                      layers);
        goto done;
    }
    const pg_layer *loss = &m->layers[m->nlayers - 1];
    m->target = !strcmp(loss->kind->name, "xent") ? PG_TARGET_LABELS : PG_TARGET_FLOAT;
    m->target_width = loss->in_width;
done:
    free(text);
    if (rc) {
        pg_model_free(m);
        return rc;
    }
    *out = m;
    return 0;
}

/* GPT: embed, depth blocks, final LayerNorm, head, loss; one token per row.
 * The embedding is glued to the first block and the norm and head to the
 * last, so blocks are the partition units. */
static int gpt_create(pg_model **out, const pg_config *c)
{
    char list[256];
    const char *untied = c->model.tied ? "" : ",untied";
    snprintf(list, sizeof list, "embed:%d,%d,%d%s %d*block:%d,%d layernorm lmhead:%d%s xent",
             c->model.vocab, c->model.ctx, c->model.width, untied, c->model.depth,
             c->model.heads, c->model.depth, c->model.vocab, untied);
    int rc = pg_model_from_layers(out, 0, list);
    if (rc) return rc;
    pg_model *m = *out;
    m->input = PG_INPUT_TOKENS;
    m->input_width = c->model.vocab;
    m->T = c->model.ctx;
    m->layers[m->nlayers - 3].glue = -1; /* final norm rides with the last block */
    return 0;
}

int pg_model_create(pg_model **m, const pg_config *c)
{
    int rc = c->model.type == PG_MODEL_GPT
                 ? gpt_create(m, c)
                 : pg_model_from_layers(m, c->model.input_dim, c->model.layers);
    if (rc) return rc;
    int reference = c->runtime.kernels == PG_KERNELS_REFERENCE;
    for (int i = 0; i < (*m)->nlayers; i++) (*m)->layers[i].reference = reference;
    return 0;
}

size_t pg_model_unique_param_count(const pg_model *m)
{
    size_t n = pg_model_param_count(m, 0, m->nlayers);
    const pg_layer *head = &m->layers[m->nlayers - 2];
    for (int p = 0; p < head->nparams; p++)
        if (head->params[p].tied) n -= head->params[p].n;
    return n;
}

void pg_model_free(pg_model *m)
{
    if (!m) return;
    free(m->layers);
    free(m);
}

size_t pg_model_param_count(const pg_model *m, int lo, int hi)
{
    size_t n = 0;
    for (int i = lo; i < hi; i++)
        for (int p = 0; p < m->layers[i].nparams; p++) n += m->layers[i].params[p].n;
    return n;
}

double pg_model_flops(const pg_model *m, int lo, int hi, pg_shape s)
{
    double f = 0.0;
    for (int i = lo; i < hi; i++) f += m->layers[i].kind->flops(&m->layers[i], s);
    return f;
}
