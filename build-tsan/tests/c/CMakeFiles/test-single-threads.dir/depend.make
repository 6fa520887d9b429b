# Empty dependencies file for test-single-threads.
# This may be replaced when dependencies are built.
