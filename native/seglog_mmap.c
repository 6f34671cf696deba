// seglog_mmap: read-only memory mappings of closed segment files, handed to JavaScript as external
// ArrayBuffers (src/io/mmap-addon.ts loads it; src/io/mapper.ts is the seam the rest of the code
// sees). Plain C on node_api.h only (N-API version 8), so one build serves every Node version.
//
// Owns: the mappings. One map() call is one mmap(PROT_READ, MAP_SHARED) of a whole file prefix;
// the ArrayBuffer returned is the only handle on it. Invariant: a mapping is unmapped only by the
// ArrayBuffer's finalizer, which V8 runs once no Buffer view of it (nor the ArrayBuffer) is
// reachable, so bytes handed out are never unmapped under a live view. advise() only drops the
// pages from this process's page tables (MADV_DONTNEED on a shared file mapping): the bytes stay
// readable and come back from the page cache on the next touch.
//
// What the caller must keep (seglog does, see docs/guarantees.md): never truncate a mapped file
// below the mapped length (touching a page past the end of a file is SIGBUS). Unlinking or
// replacing the file by rename is safe: the mapping keeps the inode.
//
// The same addon carries the Kafka server's hardware CRC32C (seglog_crc32c.c) and its TCP_QUICKACK
// (seglog_socket.c), and the batch checksum xxHash32 (seglog_xxh32.c), so that one .node file is
// built and loaded.
//
// Crash: nothing is written; a mapping dies with the process.
#ifndef NAPI_VERSION
#define NAPI_VERSION 8
#endif
#include <node_api.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "seglog_crc32c.h"
#include "seglog_socket.h"
#include "seglog_xxh32.h"

#ifndef _WIN32
#include <sys/mman.h>
#include <unistd.h>
#endif

// Live mappings and their bytes (mapped and not yet finalized), for the bound on vm.max_map_count.
// Finalizers run on the JavaScript thread of the environment that made the mapping; a worker thread
// has its own environment, hence the atomics.
static int64_t live_mappings = 0;
static int64_t live_bytes = 0;

#define CALL(env, call)                                                      \
  do {                                                                       \
    if ((call) != napi_ok) {                                                 \
      napi_throw_error((env), "ERR_MMAP_NAPI", "seglog_mmap: N-API call failed: " #call); \
      return NULL;                                                           \
    }                                                                        \
  } while (0)

static const char* errno_code(int err) {
  switch (err) {
    case ENOMEM: return "ENOMEM";
    case EACCES: return "EACCES";
    case EINVAL: return "EINVAL";
    case EBADF: return "EBADF";
    case ENODEV: return "ENODEV";
    case EAGAIN: return "EAGAIN";
    case ENFILE: return "ENFILE";
    case EOVERFLOW: return "EOVERFLOW";
    case EPERM: return "EPERM";
    default: return "EMMAP";
  }
}

static napi_value throw_errno(napi_env env, const char* what, int err) {
  char msg[160];
  snprintf(msg, sizeof msg, "%s failed: %s (errno %d)", what, strerror(err), err);
  napi_throw_error(env, errno_code(err), msg);
  return NULL;
}

#ifndef _WIN32
static void unmap_finalizer(napi_env env, void* data, void* hint) {
  (void)env;
  size_t length = (size_t)(uintptr_t)hint;
  munmap(data, length);
  __atomic_sub_fetch(&live_mappings, 1, __ATOMIC_RELAXED);
  __atomic_sub_fetch(&live_bytes, (int64_t)length, __ATOMIC_RELAXED);
}
#endif

// map(fd, length) -> ArrayBuffer over bytes [0, length) of the file. length 0 gives an empty
// (ordinary) ArrayBuffer: mmap refuses a zero length. Throws an Error whose code is the errno name
// (ENOMEM past vm.max_map_count, EACCES, ...) or ENOEXTERNAL where external buffers are refused.
static napi_value Map(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 2) {
    napi_throw_type_error(env, "ERR_INVALID_ARG", "map(fd, length)");
    return NULL;
  }
  int32_t fd;
  int64_t length;
  if (napi_get_value_int32(env, argv[0], &fd) != napi_ok || napi_get_value_int64(env, argv[1], &length) != napi_ok || fd < 0 || length < 0) {
    napi_throw_type_error(env, "ERR_INVALID_ARG", "map(fd, length): a descriptor and a non-negative length");
    return NULL;
  }
  napi_value result;
  if (length == 0) {
    void* unused;
    CALL(env, napi_create_arraybuffer(env, 0, &unused, &result));
    return result;
  }
#ifdef _WIN32
  napi_throw_error(env, "ENOTSUP", "seglog_mmap: not supported on Windows");
  return NULL;
#else
  if ((uint64_t)length > (uint64_t)SIZE_MAX) return throw_errno(env, "mmap", EOVERFLOW);
  void* addr = mmap(NULL, (size_t)length, PROT_READ, MAP_SHARED, fd, 0);
  if (addr == MAP_FAILED) return throw_errno(env, "mmap", errno);
  napi_status st = napi_create_external_arraybuffer(env, addr, (size_t)length, unmap_finalizer, (void*)(uintptr_t)length, &result);
  if (st != napi_ok) {
    munmap(addr, (size_t)length);
    bool pending = false;
    napi_is_exception_pending(env, &pending);
    if (!pending) napi_throw_error(env, "ENOEXTERNAL", "seglog_mmap: external array buffers are refused by this runtime");
    return NULL;
  }
  __atomic_add_fetch(&live_mappings, 1, __ATOMIC_RELAXED);
  __atomic_add_fetch(&live_bytes, length, __ATOMIC_RELAXED);
  return result;
#endif
}

// advise(arrayBuffer) -> undefined: MADV_DONTNEED over the whole mapping (a no-op on an empty one).
static napi_value Advise(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  bool is_ab = false;
  if (argc < 1 || napi_is_arraybuffer(env, argv[0], &is_ab) != napi_ok || !is_ab) {
    napi_throw_type_error(env, "ERR_INVALID_ARG", "advise(arrayBuffer)");
    return NULL;
  }
  void* data;
  size_t length;
  CALL(env, napi_get_arraybuffer_info(env, argv[0], &data, &length));
#ifndef _WIN32
  if (length > 0 && data != NULL && ((uintptr_t)data % (uintptr_t)sysconf(_SC_PAGESIZE)) == 0) {
    if (madvise(data, length, MADV_DONTNEED) != 0) return throw_errno(env, "madvise", errno);
  }
#endif
  return NULL;
}

// live() -> [mappings, bytes]: mappings made and not yet finalized (by every environment).
static napi_value Live(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value arr, n, b;
  CALL(env, napi_create_array_with_length(env, 2, &arr));
  CALL(env, napi_create_int64(env, __atomic_load_n(&live_mappings, __ATOMIC_RELAXED), &n));
  CALL(env, napi_create_int64(env, __atomic_load_n(&live_bytes, __ATOMIC_RELAXED), &b));
  CALL(env, napi_set_element(env, arr, 0, n));
  CALL(env, napi_set_element(env, arr, 1, b));
  return arr;
}

static void noop_finalizer(napi_env env, void* data, void* hint) {
  (void)env; (void)data; (void)hint;
}

static char probe_byte = 0;

// externalAllowed() -> boolean: whether this runtime accepts external array buffers (Electron >= 21
// refuses them); the loader asks once and falls back to reads when it does not.
static napi_value ExternalAllowed(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value ab, result;
  napi_status st = napi_create_external_arraybuffer(env, &probe_byte, 1, noop_finalizer, NULL, &ab);
  if (st != napi_ok) {
    bool pending = false;
    napi_is_exception_pending(env, &pending);
    if (pending) {
      napi_value ignored;
      napi_get_and_clear_last_exception(env, &ignored);
    }
  }
  CALL(env, napi_get_boolean(env, st == napi_ok, &result));
  return result;
}

static napi_value Init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
    { "map", NULL, Map, NULL, NULL, NULL, napi_default, NULL },
    { "advise", NULL, Advise, NULL, NULL, NULL, napi_default, NULL },
    { "live", NULL, Live, NULL, NULL, NULL, napi_default, NULL },
    { "externalAllowed", NULL, ExternalAllowed, NULL, NULL, NULL, napi_default, NULL },
  };
  CALL(env, napi_define_properties(env, exports, sizeof props / sizeof props[0], props));
  napi_value page;
#ifdef _WIN32
  CALL(env, napi_create_int32(env, 4096, &page));
#else
  CALL(env, napi_create_int32(env, (int32_t)sysconf(_SC_PAGESIZE), &page));
#endif
  CALL(env, napi_set_named_property(env, exports, "pageBytes", page));
  CALL(env, seglog_crc32c_init(env, exports)); // crc32c(), where the CPU has the instruction
  CALL(env, seglog_socket_init(env, exports)); // setTcpQuickAck(), getTcpQuickAck()
  CALL(env, seglog_xxh32_init(env, exports)); // xxh32(), the batch checksum in place
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
