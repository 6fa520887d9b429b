file(REMOVE_RECURSE
  "CMakeFiles/futex_suite_posix.dir/__/__/libfutex/backend.c.o"
  "CMakeFiles/futex_suite_posix.dir/__/__/libfutex/backend.c.o.d"
  "CMakeFiles/futex_suite_posix.dir/__/__/libfutex/futex.c.o"
  "CMakeFiles/futex_suite_posix.dir/__/__/libfutex/futex.c.o.d"
  "CMakeFiles/futex_suite_posix.dir/__/__/libfutex/sync.c.o"
  "CMakeFiles/futex_suite_posix.dir/__/__/libfutex/sync.c.o.d"
  "libfutex_suite_posix.a"
  "libfutex_suite_posix.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/futex_suite_posix.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
