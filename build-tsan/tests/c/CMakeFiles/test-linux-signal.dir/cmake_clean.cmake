file(REMOVE_RECURSE
  "CMakeFiles/test-linux-signal.dir/test-signal.c.o"
  "CMakeFiles/test-linux-signal.dir/test-signal.c.o.d"
  "test-linux-signal"
  "test-linux-signal.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/test-linux-signal.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
