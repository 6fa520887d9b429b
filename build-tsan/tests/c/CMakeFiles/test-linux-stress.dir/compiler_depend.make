# Empty compiler generated dependencies file for test-linux-stress.
# This may be replaced when dependencies are built.
