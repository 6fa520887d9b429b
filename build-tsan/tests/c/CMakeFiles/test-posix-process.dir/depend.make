# Empty dependencies file for test-posix-process.
# This may be replaced when dependencies are built.
