file(REMOVE_RECURSE
  "CMakeFiles/test-posix-api.dir/test-api.c.o"
  "CMakeFiles/test-posix-api.dir/test-api.c.o.d"
  "test-posix-api"
  "test-posix-api.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/test-posix-api.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
