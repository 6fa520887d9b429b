# Empty compiler generated dependencies file for test-single-robust.
# This may be replaced when dependencies are built.
