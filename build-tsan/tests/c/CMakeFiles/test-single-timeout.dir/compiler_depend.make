# Empty compiler generated dependencies file for test-single-timeout.
# This may be replaced when dependencies are built.
