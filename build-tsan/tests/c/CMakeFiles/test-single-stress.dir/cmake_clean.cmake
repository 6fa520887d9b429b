file(REMOVE_RECURSE
  "CMakeFiles/test-single-stress.dir/test-stress.c.o"
  "CMakeFiles/test-single-stress.dir/test-stress.c.o.d"
  "test-single-stress"
  "test-single-stress.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/test-single-stress.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
