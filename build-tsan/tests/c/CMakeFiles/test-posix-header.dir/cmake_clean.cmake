file(REMOVE_RECURSE
  "CMakeFiles/test-posix-header.dir/test-header.c.o"
  "CMakeFiles/test-posix-header.dir/test-header.c.o.d"
  "test-posix-header"
  "test-posix-header.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/test-posix-header.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
