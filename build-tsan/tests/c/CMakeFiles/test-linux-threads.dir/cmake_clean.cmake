file(REMOVE_RECURSE
  "CMakeFiles/test-linux-threads.dir/test-threads.c.o"
  "CMakeFiles/test-linux-threads.dir/test-threads.c.o.d"
  "test-linux-threads"
  "test-linux-threads.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/test-linux-threads.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
