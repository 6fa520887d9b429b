# Empty dependencies file for test-single-header.
# This may be replaced when dependencies are built.
