file(REMOVE_RECURSE
  "CMakeFiles/test-linux-header.dir/test-header.c.o"
  "CMakeFiles/test-linux-header.dir/test-header.c.o.d"
  "test-linux-header"
  "test-linux-header.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/test-linux-header.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
