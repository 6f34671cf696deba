// seglog_socket: TCP_QUICKACK for the Kafka server's accepted sockets (src/kafka/server/connection.ts
// calls it after each read, through the seam src/kafka/server/server.ts fills from
// src/io/mmap-addon.ts when this process loaded the addon; seglog/native-free never does). Part of
// the seglog_mmap addon (binding.gyp): one .node file.
//
// Why (docs/kafka.md, "Where the latency's p99 comes from"): librdkafka leaves Nagle on, so it holds
// its next small Produce until the previous one's bytes are acknowledged; Linux delays that ACK (up
// to 40 ms) until the server sends something, and an acks -1 answer waits for an fsync. Setting
// TCP_QUICKACK sends a pending ACK at once and leaves the delayed-ACK ("pingpong") mode; Linux
// goes back to it by itself, hence once per read. Node has no such option (setNoDelay is Nagle on
// the server's own sends).
//
// setTcpQuickAck(fd, on) -> true when setsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, on) succeeded;
//   false where the option does not exist (not Linux) or the call failed (not a TCP socket, closed).
//   It never throws for a bad descriptor: the caller runs it on every read and has nothing to do
//   about a failure (the ACK is then only delayed, as without it).
// getTcpQuickAck(fd) -> the option read back (Linux reports whether the socket is outside
//   delayed-ACK mode), or null where it does not exist or the call failed (tests).
//
// Crash: nothing here is on disk.
#ifndef NAPI_VERSION
#define NAPI_VERSION 8
#endif
#include <node_api.h>
#include <stdbool.h>
#include <stdint.h>

#include "seglog_socket.h"

#if defined(__linux__)
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#endif

static napi_value SetTcpQuickAck(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  int32_t fd;
  bool on = true;
  if (argc < 1 || napi_get_value_int32(env, argv[0], &fd) != napi_ok || (argc >= 2 && napi_get_value_bool(env, argv[1], &on) != napi_ok)) {
    napi_throw_type_error(env, "ERR_INVALID_ARG", "setTcpQuickAck(fd, on): a descriptor and a boolean");
    return NULL;
  }
  bool ok = false;
#if defined(__linux__) && defined(TCP_QUICKACK)
  int value = on ? 1 : 0;
  ok = fd >= 0 && setsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, &value, sizeof value) == 0;
#else
  (void)fd;
  (void)on;
#endif
  napi_value result;
  if (napi_get_boolean(env, ok, &result) != napi_ok) return NULL;
  return result;
}

static napi_value GetTcpQuickAck(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  int32_t fd;
  if (argc < 1 || napi_get_value_int32(env, argv[0], &fd) != napi_ok) {
    napi_throw_type_error(env, "ERR_INVALID_ARG", "getTcpQuickAck(fd): a descriptor");
    return NULL;
  }
  napi_value result;
#if defined(__linux__) && defined(TCP_QUICKACK)
  int value = 0;
  socklen_t len = sizeof value;
  if (fd >= 0 && getsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, &value, &len) == 0) {
    if (napi_get_boolean(env, value != 0, &result) != napi_ok) return NULL;
    return result;
  }
#else
  (void)fd;
#endif
  if (napi_get_null(env, &result) != napi_ok) return NULL;
  return result;
}

napi_status seglog_socket_init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
    { "setTcpQuickAck", NULL, SetTcpQuickAck, NULL, NULL, NULL, napi_default, NULL },
    { "getTcpQuickAck", NULL, GetTcpQuickAck, NULL, NULL, NULL, napi_default, NULL },
  };
  return napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
}
