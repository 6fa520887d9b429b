# Empty compiler generated dependencies file for test-posix-sync.
# This may be replaced when dependencies are built.
