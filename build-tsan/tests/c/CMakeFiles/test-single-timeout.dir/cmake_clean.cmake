file(REMOVE_RECURSE
  "CMakeFiles/test-single-timeout.dir/test-timeout.c.o"
  "CMakeFiles/test-single-timeout.dir/test-timeout.c.o.d"
  "test-single-timeout"
  "test-single-timeout.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/test-single-timeout.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
