file(REMOVE_RECURSE
  "CMakeFiles/test-posix-robust.dir/test-robust.c.o"
  "CMakeFiles/test-posix-robust.dir/test-robust.c.o.d"
  "test-posix-robust"
  "test-posix-robust.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/test-posix-robust.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
