# Empty compiler generated dependencies file for test-single-signal.
# This may be replaced when dependencies are built.
