# Empty dependencies file for test-header-c99.
# This may be replaced when dependencies are built.
