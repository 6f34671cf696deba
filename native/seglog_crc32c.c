// seglog_crc32c: CRC32C (Castagnoli, reflected polynomial 0x82F63B78) with the CPU's crc32
// instruction (SSE4.2, x86-64), for the Kafka server's record batches (src/kafka/records/crc32c.ts
// uses it when the addon is loaded; its JavaScript slicing-by-16 stays the fallback and the only
// path of seglog/native-free). Part of the seglog_mmap addon (binding.gyp): one .node file.
//
// crc32c(view, start, end, crc) -> the CRC32C of view[start, end) continuing `crc` (the value
// returned for the bytes before start; 0 to begin), as an unsigned 32-bit number. Exported only
// where the instruction exists (checked at load with cpuid): elsewhere the property is absent and
// JavaScript computes it.
//
// Long ranges run three independent crc32 chains over three consecutive blocks (the instruction has
// a latency of 3 cycles and a throughput of 1, so one chain uses a third of it) and join them with
// the "append N zero bytes" operator, which is linear in the CRC register: shift(r) for a block of
// BLOCK_BYTES is four 256-entry tables (one per byte of r), built once at load.
//
// Crash: nothing here is on disk.
#ifndef NAPI_VERSION
#define NAPI_VERSION 8
#endif
#include <node_api.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "seglog_crc32c.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define SEGLOG_CRC32C_HW 1
#include <cpuid.h>
#include <nmmintrin.h>

/** Bytes of each of the three interleaved blocks (a multiple of 8). */
#define BLOCK_BYTES 4096
/** shift_table[k][b]: the register after byte b in position k of a zero register followed by BLOCK_BYTES zeros. */
static uint32_t shift_table[4][256];

__attribute__((target("sse4.2")))
static uint32_t crc_bytes(uint32_t c, const uint8_t* p, size_t n) {
  while (n > 0 && ((uintptr_t)p & 7) != 0) { c = _mm_crc32_u8(c, *p++); n--; }
  uint64_t c64 = c;
  while (n >= 8) {
    uint64_t w;
    memcpy(&w, p, 8);
    c64 = _mm_crc32_u64(c64, w);
    p += 8;
    n -= 8;
  }
  c = (uint32_t)c64;
  while (n > 0) { c = _mm_crc32_u8(c, *p++); n--; }
  return c;
}

static uint32_t shift_block(uint32_t c) {
  return shift_table[0][c & 0xff] ^ shift_table[1][(c >> 8) & 0xff] ^ shift_table[2][(c >> 16) & 0xff] ^ shift_table[3][c >> 24];
}

__attribute__((target("sse4.2")))
static uint32_t crc_interleaved(uint32_t c, const uint8_t* p, size_t n) {
  while (n > 0 && ((uintptr_t)p & 7) != 0) { c = _mm_crc32_u8(c, *p++); n--; }
  while (n >= 3 * BLOCK_BYTES) {
    uint64_t a = c, b = 0, d = 0;
    const uint8_t* pb = p + BLOCK_BYTES;
    const uint8_t* pd = p + 2 * BLOCK_BYTES;
    for (size_t i = 0; i < BLOCK_BYTES; i += 8) {
      uint64_t wa, wb, wd;
      memcpy(&wa, p + i, 8);
      memcpy(&wb, pb + i, 8);
      memcpy(&wd, pd + i, 8);
      a = _mm_crc32_u64(a, wa);
      b = _mm_crc32_u64(b, wb);
      d = _mm_crc32_u64(d, wd);
    }
    // (a over block 1, then block 2's zeros) ^ b, then block 3's zeros ^ d: the register over all three.
    c = shift_block(shift_block((uint32_t)a) ^ (uint32_t)b) ^ (uint32_t)d;
    p += 3 * BLOCK_BYTES;
    n -= 3 * BLOCK_BYTES;
  }
  return crc_bytes(c, p, n);
}

__attribute__((target("sse4.2")))
static void build_shift_table(void) {
  static const uint8_t zeros[BLOCK_BYTES];
  for (int k = 0; k < 4; k++) {
    for (int b = 0; b < 256; b++) shift_table[k][b] = crc_bytes((uint32_t)b << (8 * k), zeros, BLOCK_BYTES);
  }
}

static int have_sse42(void) {
  unsigned int eax, ebx, ecx, edx;
  if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx)) return 0;
  return (ecx & bit_SSE4_2) != 0;
}
#endif

static napi_value Crc32c(napi_env env, napi_callback_info info) {
#ifdef SEGLOG_CRC32C_HW
  size_t argc = 4;
  napi_value argv[4];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  bool is_view = false;
  if (argc < 4 || napi_is_typedarray(env, argv[0], &is_view) != napi_ok || !is_view) {
    napi_throw_type_error(env, "ERR_INVALID_ARG", "crc32c(uint8Array, start, end, crc)");
    return NULL;
  }
  napi_typedarray_type type;
  size_t length;
  void* data;
  if (napi_get_typedarray_info(env, argv[0], &type, &length, &data, NULL, NULL) != napi_ok || type != napi_uint8_array) {
    napi_throw_type_error(env, "ERR_INVALID_ARG", "crc32c: a Uint8Array");
    return NULL;
  }
  int64_t start, end;
  uint32_t crc;
  if (napi_get_value_int64(env, argv[1], &start) != napi_ok || napi_get_value_int64(env, argv[2], &end) != napi_ok
      || napi_get_value_uint32(env, argv[3], &crc) != napi_ok || start < 0 || end < start || (uint64_t)end > (uint64_t)length) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "crc32c: 0 <= start <= end <= length, and a 32-bit crc");
    return NULL;
  }
  const uint8_t* p = (const uint8_t*)data + start;
  size_t n = (size_t)(end - start);
  uint32_t c = ~crc;
  c = n >= 3 * BLOCK_BYTES ? crc_interleaved(c, p, n) : crc_bytes(c, p, n);
  napi_value result;
  if (napi_create_uint32(env, ~c, &result) != napi_ok) return NULL;
  return result;
#else
  (void)info;
  napi_throw_error(env, "ENOTSUP", "seglog_crc32c: no CRC32C instruction on this platform");
  return NULL;
#endif
}

napi_status seglog_crc32c_init(napi_env env, napi_value exports) {
#ifdef SEGLOG_CRC32C_HW
  if (!have_sse42()) return napi_ok;
  build_shift_table();
  napi_value fn;
  napi_status st = napi_create_function(env, "crc32c", NAPI_AUTO_LENGTH, Crc32c, NULL, &fn);
  if (st != napi_ok) return st;
  return napi_set_named_property(env, exports, "crc32c", fn);
#else
  (void)env;
  (void)exports;
  return napi_ok;
#endif
}
