# Empty dependencies file for test-posix-robust.
# This may be replaced when dependencies are built.
