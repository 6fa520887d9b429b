# Empty dependencies file for futex_suite_single.
# This may be replaced when dependencies are built.
