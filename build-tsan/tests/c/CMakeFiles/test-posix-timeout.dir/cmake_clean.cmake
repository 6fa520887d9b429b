file(REMOVE_RECURSE
  "CMakeFiles/test-posix-timeout.dir/test-timeout.c.o"
  "CMakeFiles/test-posix-timeout.dir/test-timeout.c.o.d"
  "test-posix-timeout"
  "test-posix-timeout.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/test-posix-timeout.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
