file(REMOVE_RECURSE
  "CMakeFiles/test-header-c99.dir/header-c99.c.o"
  "CMakeFiles/test-header-c99.dir/header-c99.c.o.d"
  "test-header-c99"
  "test-header-c99.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/test-header-c99.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
