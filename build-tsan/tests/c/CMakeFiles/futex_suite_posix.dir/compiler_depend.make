# Empty compiler generated dependencies file for futex_suite_posix.
# This may be replaced when dependencies are built.
