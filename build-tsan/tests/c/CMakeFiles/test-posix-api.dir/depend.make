# Empty dependencies file for test-posix-api.
# This may be replaced when dependencies are built.
