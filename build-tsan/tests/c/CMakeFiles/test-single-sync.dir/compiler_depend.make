# Empty compiler generated dependencies file for test-single-sync.
# This may be replaced when dependencies are built.
