file(REMOVE_RECURSE
  "CMakeFiles/test-linux-timeout.dir/test-timeout.c.o"
  "CMakeFiles/test-linux-timeout.dir/test-timeout.c.o.d"
  "test-linux-timeout"
  "test-linux-timeout.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/test-linux-timeout.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
