# Empty compiler generated dependencies file for test-posix-timeout.
# This may be replaced when dependencies are built.
