# Empty dependencies file for test-linux-sync.
# This may be replaced when dependencies are built.
