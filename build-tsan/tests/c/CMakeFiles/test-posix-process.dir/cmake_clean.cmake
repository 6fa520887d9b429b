file(REMOVE_RECURSE
  "CMakeFiles/test-posix-process.dir/test-process.c.o"
  "CMakeFiles/test-posix-process.dir/test-process.c.o.d"
  "test-posix-process"
  "test-posix-process.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/test-posix-process.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
