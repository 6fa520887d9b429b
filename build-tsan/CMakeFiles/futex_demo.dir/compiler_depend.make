# Empty compiler generated dependencies file for futex_demo.
# This may be replaced when dependencies are built.
