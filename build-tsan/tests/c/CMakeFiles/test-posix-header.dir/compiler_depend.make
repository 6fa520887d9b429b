# Empty compiler generated dependencies file for test-posix-header.
# This may be replaced when dependencies are built.
