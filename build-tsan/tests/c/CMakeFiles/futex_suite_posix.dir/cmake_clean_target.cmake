file(REMOVE_RECURSE
  "libfutex_suite_posix.a"
)
