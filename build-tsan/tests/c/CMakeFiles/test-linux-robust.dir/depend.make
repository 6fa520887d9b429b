# Empty dependencies file for test-linux-robust.
# This may be replaced when dependencies are built.
