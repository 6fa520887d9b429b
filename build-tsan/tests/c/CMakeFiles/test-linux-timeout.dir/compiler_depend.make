# Empty compiler generated dependencies file for test-linux-timeout.
# This may be replaced when dependencies are built.
