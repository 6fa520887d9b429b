# Empty dependencies file for test-linux-process.
# This may be replaced when dependencies are built.
