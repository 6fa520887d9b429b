file(REMOVE_RECURSE
  "CMakeFiles/test-header-cxx.dir/header-compat.cpp.o"
  "CMakeFiles/test-header-cxx.dir/header-compat.cpp.o.d"
  "test-header-cxx"
  "test-header-cxx.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang CXX)
  include(CMakeFiles/test-header-cxx.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
