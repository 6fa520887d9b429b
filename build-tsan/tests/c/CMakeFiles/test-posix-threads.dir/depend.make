# Empty dependencies file for test-posix-threads.
# This may be replaced when dependencies are built.
