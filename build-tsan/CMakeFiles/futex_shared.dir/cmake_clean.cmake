file(REMOVE_RECURSE
  ".0"
  "CMakeFiles/futex_shared.dir/libfutex/backend.c.o"
  "CMakeFiles/futex_shared.dir/libfutex/backend.c.o.d"
  "CMakeFiles/futex_shared.dir/libfutex/futex.c.o"
  "CMakeFiles/futex_shared.dir/libfutex/futex.c.o.d"
  "CMakeFiles/futex_shared.dir/libfutex/sync.c.o"
  "CMakeFiles/futex_shared.dir/libfutex/sync.c.o.d"
  "libfutex.pdb"
  "libfutex.so"
  "libfutex.so.0"
  "libfutex.so.0.1.0"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/futex_shared.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
