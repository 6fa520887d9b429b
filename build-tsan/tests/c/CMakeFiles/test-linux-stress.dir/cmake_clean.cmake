file(REMOVE_RECURSE
  "CMakeFiles/test-linux-stress.dir/test-stress.c.o"
  "CMakeFiles/test-linux-stress.dir/test-stress.c.o.d"
  "test-linux-stress"
  "test-linux-stress.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/test-linux-stress.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
