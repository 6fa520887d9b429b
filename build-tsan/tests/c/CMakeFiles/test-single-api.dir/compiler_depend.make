# Empty compiler generated dependencies file for test-single-api.
# This may be replaced when dependencies are built.
