# Empty dependencies file for test-linux-threads.
# This may be replaced when dependencies are built.
