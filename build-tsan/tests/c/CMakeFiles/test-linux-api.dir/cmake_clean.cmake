file(REMOVE_RECURSE
  "CMakeFiles/test-linux-api.dir/test-api.c.o"
  "CMakeFiles/test-linux-api.dir/test-api.c.o.d"
  "test-linux-api"
  "test-linux-api.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/test-linux-api.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
