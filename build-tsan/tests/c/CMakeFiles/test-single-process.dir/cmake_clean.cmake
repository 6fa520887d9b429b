file(REMOVE_RECURSE
  "CMakeFiles/test-single-process.dir/test-process.c.o"
  "CMakeFiles/test-single-process.dir/test-process.c.o.d"
  "test-single-process"
  "test-single-process.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/test-single-process.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
