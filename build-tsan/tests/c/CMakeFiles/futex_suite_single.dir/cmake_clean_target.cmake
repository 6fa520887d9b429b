file(REMOVE_RECURSE
  "libfutex_suite_single.a"
)
