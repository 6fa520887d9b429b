file(REMOVE_RECURSE
  "CMakeFiles/test-posix-threads.dir/test-threads.c.o"
  "CMakeFiles/test-posix-threads.dir/test-threads.c.o.d"
  "test-posix-threads"
  "test-posix-threads.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/test-posix-threads.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
