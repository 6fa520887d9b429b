file(REMOVE_RECURSE
  "CMakeFiles/test-single-robust.dir/test-robust.c.o"
  "CMakeFiles/test-single-robust.dir/test-robust.c.o.d"
  "test-single-robust"
  "test-single-robust.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/test-single-robust.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
