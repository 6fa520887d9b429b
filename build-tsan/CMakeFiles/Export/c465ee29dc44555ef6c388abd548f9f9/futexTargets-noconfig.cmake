#----------------------------------------------------------------
# Generated CMake target import file.
#----------------------------------------------------------------

# Commands may need to know the format version.
set(CMAKE_IMPORT_FILE_VERSION 1)

# Import target "futex::futex_static" for configuration ""
set_property(TARGET futex::futex_static APPEND PROPERTY IMPORTED_CONFIGURATIONS NOCONFIG)
set_target_properties(futex::futex_static PROPERTIES
  IMPORTED_LINK_INTERFACE_LANGUAGES_NOCONFIG "C"
  IMPORTED_LOCATION_NOCONFIG "${_IMPORT_PREFIX}/lib/libfutex.a"
  )

list(APPEND _cmake_import_check_targets futex::futex_static )
list(APPEND _cmake_import_check_files_for_futex::futex_static "${_IMPORT_PREFIX}/lib/libfutex.a" )

# Import target "futex::futex_shared" for configuration ""
set_property(TARGET futex::futex_shared APPEND PROPERTY IMPORTED_CONFIGURATIONS NOCONFIG)
set_target_properties(futex::futex_shared PROPERTIES
  IMPORTED_LOCATION_NOCONFIG "${_IMPORT_PREFIX}/lib/libfutex.so.0.1.0"
  IMPORTED_SONAME_NOCONFIG "libfutex.so.0"
  )

list(APPEND _cmake_import_check_targets futex::futex_shared )
list(APPEND _cmake_import_check_files_for_futex::futex_shared "${_IMPORT_PREFIX}/lib/libfutex.so.0.1.0" )

# Commands beyond this point should not need to know the version.
set(CMAKE_IMPORT_FILE_VERSION)
