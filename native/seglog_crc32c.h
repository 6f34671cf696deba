// seglog_crc32c.c's entry: adds crc32c() to the addon's exports where the CPU has the instruction.
#ifndef SEGLOG_CRC32C_H
#define SEGLOG_CRC32C_H
#include <node_api.h>

napi_status seglog_crc32c_init(napi_env env, napi_value exports);

#endif
