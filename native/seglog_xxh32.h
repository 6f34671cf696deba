// seglog_xxh32.c's entry: adds xxh32() and verifyBatches() to the addon's exports.
#ifndef SEGLOG_XXH32_H
#define SEGLOG_XXH32_H
#include <node_api.h>

napi_status seglog_xxh32_init(napi_env env, napi_value exports);

#endif
