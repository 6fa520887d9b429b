file(REMOVE_RECURSE
  "CMakeFiles/futex_suite_single.dir/__/__/libfutex/backend.c.o"
  "CMakeFiles/futex_suite_single.dir/__/__/libfutex/backend.c.o.d"
  "CMakeFiles/futex_suite_single.dir/__/__/libfutex/futex.c.o"
  "CMakeFiles/futex_suite_single.dir/__/__/libfutex/futex.c.o.d"
  "CMakeFiles/futex_suite_single.dir/__/__/libfutex/sync.c.o"
  "CMakeFiles/futex_suite_single.dir/__/__/libfutex/sync.c.o.d"
  "libfutex_suite_single.a"
  "libfutex_suite_single.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/futex_suite_single.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
