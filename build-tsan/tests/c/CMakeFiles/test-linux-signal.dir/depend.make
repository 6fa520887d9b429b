# Empty dependencies file for test-linux-signal.
# This may be replaced when dependencies are built.
