file(REMOVE_RECURSE
  "CMakeFiles/test-linux-process.dir/test-process.c.o"
  "CMakeFiles/test-linux-process.dir/test-process.c.o.d"
  "test-linux-process"
  "test-linux-process.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/test-linux-process.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
