# Shared by tests/emul/{freebsd,openbsd,dragonfly,netbsd}/CMakeLists.txt.
#
# futex_bsd_emul(<target> <suite> <futex_add_suite arguments...>): registers
# the C suite <suite> (futex_add_suite) and adds its executables to the
# custom target <target>, which tests/suites/40-bsd.sh builds. A macro, so
# that futex_add_suite sees FUTEX_TEST_FILES and FUTEX_TEST_DIR, which
# tests/c/CMakeLists.txt sets in its own directory scope only.
macro(futex_bsd_emul target suite)
  foreach(_v FUTEX_TEST_FILES FUTEX_TEST_DIR)
    if(NOT DEFINED ${_v})
      get_directory_property(${_v} DIRECTORY ${PROJECT_SOURCE_DIR}/tests/c DEFINITION ${_v})
    endif()
  endforeach()
  futex_add_suite(${suite} ${ARGN})
  if(NOT TARGET ${target})
    add_custom_target(${target})
  endif()
  foreach(_f ${FUTEX_TEST_FILES})
    add_dependencies(${target} test-${suite}-${_f})
  endforeach()
endmacro()
