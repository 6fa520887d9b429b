file(REMOVE_RECURSE
  "CMakeFiles/test-single-sync.dir/test-sync.c.o"
  "CMakeFiles/test-single-sync.dir/test-sync.c.o.d"
  "test-single-sync"
  "test-single-sync.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/test-single-sync.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
