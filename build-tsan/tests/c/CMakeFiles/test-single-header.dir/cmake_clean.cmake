file(REMOVE_RECURSE
  "CMakeFiles/test-single-header.dir/test-header.c.o"
  "CMakeFiles/test-single-header.dir/test-header.c.o.d"
  "test-single-header"
  "test-single-header.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/test-single-header.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
