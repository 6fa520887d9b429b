file(REMOVE_RECURSE
  "CMakeFiles/futex_demo.dir/demo/pingpong.c.o"
  "CMakeFiles/futex_demo.dir/demo/pingpong.c.o.d"
  "futex_demo"
  "futex_demo.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/futex_demo.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
