file(REMOVE_RECURSE
  "CMakeFiles/test-linux-sync.dir/test-sync.c.o"
  "CMakeFiles/test-linux-sync.dir/test-sync.c.o.d"
  "test-linux-sync"
  "test-linux-sync.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/test-linux-sync.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
