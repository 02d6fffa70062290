/* fuzz_config.c: the INI configuration parser and its checks on arbitrary
 * bytes; also the layer-list parser the configuration feeds. */
#include "runtime/config/config.h"
#include "runtime/model/model.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text) return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    pg_config c;
    pg_config_init(&c);
    if (pg_config_load_string(&c, text, "fuzz.ini") == 0 && pg_config_check(&c) == 0) {
        pg_model *m;
        if (pg_model_create(&m, &c) == 0) pg_model_free(m);
    }
    free(text);
    return 0;
}
