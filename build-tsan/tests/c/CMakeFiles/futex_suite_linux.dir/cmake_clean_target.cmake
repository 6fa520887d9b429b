file(REMOVE_RECURSE
  "libfutex_suite_linux.a"
)
