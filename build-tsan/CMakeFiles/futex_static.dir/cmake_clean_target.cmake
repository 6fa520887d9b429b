file(REMOVE_RECURSE
  "libfutex.a"
)
