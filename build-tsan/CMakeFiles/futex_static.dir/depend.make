# Empty dependencies file for futex_static.
# This may be replaced when dependencies are built.
