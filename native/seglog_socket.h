// seglog_socket.c's entry: adds setTcpQuickAck() and getTcpQuickAck() to the addon's exports.
#ifndef SEGLOG_SOCKET_H
#define SEGLOG_SOCKET_H
#include <node_api.h>

napi_status seglog_socket_init(napi_env env, napi_value exports);

#endif
