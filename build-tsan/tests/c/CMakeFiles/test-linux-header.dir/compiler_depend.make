# Empty compiler generated dependencies file for test-linux-header.
# This may be replaced when dependencies are built.
