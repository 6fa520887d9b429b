# Empty dependencies file for futex_suite_linux.
# This may be replaced when dependencies are built.
