# Empty compiler generated dependencies file for test-posix-stress.
# This may be replaced when dependencies are built.
