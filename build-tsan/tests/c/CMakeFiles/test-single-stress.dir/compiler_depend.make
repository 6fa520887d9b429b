# Empty compiler generated dependencies file for test-single-stress.
# This may be replaced when dependencies are built.
