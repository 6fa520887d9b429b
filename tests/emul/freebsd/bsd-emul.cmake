# Shared by tests/emul/{freebsd,openbsd,dragonfly,netbsd}/CMakeLists.txt.
#
# futex_bsd_emul(<target> <suite> <futex_add_suite arguments...>): registers
# the C suite <suite> (futex_add_suite) and adds its executables to the
# custom target <target>, which tests/suites/40-bsd.sh builds.
macro(futex_bsd_emul target suite)
  futex_add_suite(${suite} ${ARGN})
  if(NOT TARGET ${target})
    add_custom_target(${target})
  endif()
  foreach(_f ${FUTEX_TEST_FILES})
    add_dependencies(${target} test-${suite}-${_f})
  endforeach()
endmacro()
