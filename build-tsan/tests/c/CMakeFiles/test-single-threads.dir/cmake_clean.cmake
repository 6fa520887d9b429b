file(REMOVE_RECURSE
  "CMakeFiles/test-single-threads.dir/test-threads.c.o"
  "CMakeFiles/test-single-threads.dir/test-threads.c.o.d"
  "test-single-threads"
  "test-single-threads.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/test-single-threads.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
