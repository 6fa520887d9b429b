file(REMOVE_RECURSE
  "CMakeFiles/test-posix-signal.dir/test-signal.c.o"
  "CMakeFiles/test-posix-signal.dir/test-signal.c.o.d"
  "test-posix-signal"
  "test-posix-signal.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/test-posix-signal.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
