file(REMOVE_RECURSE
  "CMakeFiles/test-posix-stress.dir/test-stress.c.o"
  "CMakeFiles/test-posix-stress.dir/test-stress.c.o.d"
  "test-posix-stress"
  "test-posix-stress.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/test-posix-stress.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
