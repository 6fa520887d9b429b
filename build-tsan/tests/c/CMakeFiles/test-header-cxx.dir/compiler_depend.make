# Empty compiler generated dependencies file for test-header-cxx.
# This may be replaced when dependencies are built.
