# Empty dependencies file for test-single-process.
# This may be replaced when dependencies are built.
