# Empty dependencies file for test-posix-signal.
# This may be replaced when dependencies are built.
