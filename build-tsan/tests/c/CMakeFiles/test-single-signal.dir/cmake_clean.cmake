file(REMOVE_RECURSE
  "CMakeFiles/test-single-signal.dir/test-signal.c.o"
  "CMakeFiles/test-single-signal.dir/test-signal.c.o.d"
  "test-single-signal"
  "test-single-signal.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/test-single-signal.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
