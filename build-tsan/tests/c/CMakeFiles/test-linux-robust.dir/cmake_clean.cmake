file(REMOVE_RECURSE
  "CMakeFiles/test-linux-robust.dir/test-robust.c.o"
  "CMakeFiles/test-linux-robust.dir/test-robust.c.o.d"
  "test-linux-robust"
  "test-linux-robust.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/test-linux-robust.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
