// seglog_xxh32: xxHash32 (seed 0), the batch checksum of docs/format.md, over the bytes of a
// Buffer in place. src/format/checksum.ts uses it once the default entry point has loaded the addon
// (src/io/mmap-addon.ts); xxhash-wasm's h32Raw, which copies its input into wasm memory first, and
// the plain-JS src/format/xxh32.ts stay the other paths (seglog/native-free never loads this) and
// give the same numbers (test/checksum.test.ts compares them). Part of the seglog_mmap addon
// (binding.gyp): one .node file.
//
// xxh32(view, start, end) -> the xxHash32 of view[start, end), an unsigned 32-bit number.
// verifyBatches(view, start, end) -> the end of the run of whole batches from `start` whose stored
//   checksum matches (a position in [start, end]): it walks the batch headers (length at +0, the
//   checksum at +4 over [+8, +length)) and stops before the first batch that is shorter than a
//   header, runs past `end`, or does not match. The caller still treats a batch past the returned
//   position as unchecked (src/log/cursor.ts checks it alone and reports it).
//
// Crash: nothing is written.
#ifndef NAPI_VERSION
#define NAPI_VERSION 8
#endif
#include <node_api.h>
#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#include "seglog_xxh32.h"

#define P1 0x9E3779B1u
#define P2 0x85EBCA77u
#define P3 0xC2B2AE3Du
#define P4 0x27D4EB2Fu
#define P5 0x165667B1u

static inline uint32_t rotl32(uint32_t x, int r) { return (x << r) | (x >> (32 - r)); }

// Little-endian whatever the host (the format is little-endian); compilers turn this into one load.
static inline uint32_t load_le32(const uint8_t* p) {
  return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

/** Bytes ahead of the hash asked for at once: four batches of 4 KiB (the L1 is 48 KiB). */
#define PREFETCH_BYTES 16384

static inline void prefetch_range(const uint8_t* p, const uint8_t* end) {
#if defined(__GNUC__) || defined(__clang__)
  const uint8_t* stop = (size_t)(end - p) < PREFETCH_BYTES ? end : p + PREFETCH_BYTES;
  for (const uint8_t* q = (const uint8_t*)((uintptr_t)p & ~(uintptr_t)63); q < stop; q += 64) __builtin_prefetch(q, 0, 3);
#else
  (void)p;
  (void)end;
#endif
}

static inline uint32_t round32(uint32_t acc, uint32_t lane) {
  return rotl32(acc + lane * P2, 13) * P1;
}

static uint32_t seglog_xxh32(const uint8_t* p, size_t n, uint32_t seed) {
  const uint8_t* const end = p + n;
  uint32_t h;
  // A batch of a mapping that no one has read since it was mapped is not in the CPU's caches: the
  // hash alone keeps only a few of its lines in flight (each 16 bytes wait on multiplies), so ask for
  // all of them first (up to PREFETCH_BYTES), as a memcpy would: W4's first get of a batch costs
  // less (1.55-1.65 us against 2.0-2.1 us per 4 KiB batch verified and entered, bench/w4 data).
  prefetch_range(p, end);
  if (n >= 16) {
    uint32_t v1 = seed + P1 + P2, v2 = seed + P2, v3 = seed, v4 = seed - P1;
    const uint8_t* const limit = end - 16;
    do {
      v1 = round32(v1, load_le32(p));
      v2 = round32(v2, load_le32(p + 4));
      v3 = round32(v3, load_le32(p + 8));
      v4 = round32(v4, load_le32(p + 12));
      p += 16;
    } while (p <= limit);
    h = rotl32(v1, 1) + rotl32(v2, 7) + rotl32(v3, 12) + rotl32(v4, 18);
  } else {
    h = seed + P5;
  }
  h += (uint32_t)n;
  while (p + 4 <= end) {
    h = rotl32(h + load_le32(p) * P3, 17) * P4;
    p += 4;
  }
  while (p < end) {
    h = rotl32(h + (uint32_t)(*p) * P5, 11) * P1;
    p++;
  }
  h ^= h >> 15;
  h *= P2;
  h ^= h >> 13;
  h *= P3;
  h ^= h >> 16;
  return h;
}

static napi_value Xxh32(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  napi_typedarray_type type;
  size_t length;
  void* data;
  if (argc < 3 || napi_get_typedarray_info(env, argv[0], &type, &length, &data, NULL, NULL) != napi_ok || type != napi_uint8_array) {
    napi_throw_type_error(env, "ERR_INVALID_ARG", "xxh32(uint8Array, start, end)");
    return NULL;
  }
  int64_t start, end;
  if (napi_get_value_int64(env, argv[1], &start) != napi_ok || napi_get_value_int64(env, argv[2], &end) != napi_ok
      || start < 0 || end < start || (uint64_t)end > (uint64_t)length) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "xxh32: 0 <= start <= end <= length");
    return NULL;
  }
  napi_value result;
  if (napi_create_uint32(env, seglog_xxh32((const uint8_t*)data + start, (size_t)(end - start), 0), &result) != napi_ok) return NULL;
  return result;
}

/** Bytes of a batch header (src/format/batch.ts BATCH_HEADER_BYTES) and where the checksum lies in it. */
#define HEADER_BYTES 44
#define CHECKSUM_AT 4
#define CHECKSUM_FROM 8

static napi_value VerifyBatches(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  napi_typedarray_type type;
  size_t length;
  void* bytes;
  if (argc < 3 || napi_get_typedarray_info(env, argv[0], &type, &length, &bytes, NULL, NULL) != napi_ok || type != napi_uint8_array) {
    napi_throw_type_error(env, "ERR_INVALID_ARG", "verifyBatches(uint8Array, start, end)");
    return NULL;
  }
  int64_t start, end;
  if (napi_get_value_int64(env, argv[1], &start) != napi_ok || napi_get_value_int64(env, argv[2], &end) != napi_ok
      || start < 0 || end < start || (uint64_t)end > (uint64_t)length) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "verifyBatches: 0 <= start <= end <= length");
    return NULL;
  }
  const uint8_t* data = (const uint8_t*)bytes;
  int64_t p = start;
  while (end - p >= HEADER_BYTES) {
    uint32_t n = load_le32(data + p);
    if (n < HEADER_BYTES || (int64_t)n > end - p) break;
    if (seglog_xxh32(data + p + CHECKSUM_FROM, n - CHECKSUM_FROM, 0) != load_le32(data + p + CHECKSUM_AT)) break;
    p += n;
  }
  napi_value result;
  if (napi_create_double(env, (double)p, &result) != napi_ok) return NULL;
  return result;
}

napi_status seglog_xxh32_init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
    { "xxh32", NULL, Xxh32, NULL, NULL, NULL, napi_default, NULL },
    { "verifyBatches", NULL, VerifyBatches, NULL, NULL, NULL, napi_default, NULL },
  };
  return napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
}
