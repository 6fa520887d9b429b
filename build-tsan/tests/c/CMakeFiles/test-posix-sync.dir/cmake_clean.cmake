file(REMOVE_RECURSE
  "CMakeFiles/test-posix-sync.dir/test-sync.c.o"
  "CMakeFiles/test-posix-sync.dir/test-sync.c.o.d"
  "test-posix-sync"
  "test-posix-sync.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/test-posix-sync.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
