file(REMOVE_RECURSE
  "CMakeFiles/test-single-api.dir/test-api.c.o"
  "CMakeFiles/test-single-api.dir/test-api.c.o.d"
  "test-single-api"
  "test-single-api.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/test-single-api.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
