{
  "targets": [
    {
      "target_name": "seglog_mmap",
      "sources": ["native/seglog_mmap.c", "native/seglog_crc32c.c", "native/seglog_socket.c", "native/seglog_xxh32.c"],
      "defines": ["NAPI_VERSION=8"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "xcode_settings": { "OTHER_CFLAGS": ["-O2", "-Wall"] }
    }
  ]
}
