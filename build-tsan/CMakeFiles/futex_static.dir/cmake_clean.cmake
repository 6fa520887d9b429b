file(REMOVE_RECURSE
  "CMakeFiles/futex_static.dir/libfutex/backend.c.o"
  "CMakeFiles/futex_static.dir/libfutex/backend.c.o.d"
  "CMakeFiles/futex_static.dir/libfutex/futex.c.o"
  "CMakeFiles/futex_static.dir/libfutex/futex.c.o.d"
  "CMakeFiles/futex_static.dir/libfutex/sync.c.o"
  "CMakeFiles/futex_static.dir/libfutex/sync.c.o.d"
  "libfutex.a"
  "libfutex.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/futex_static.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
