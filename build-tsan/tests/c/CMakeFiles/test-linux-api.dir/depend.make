# Empty dependencies file for test-linux-api.
# This may be replaced when dependencies are built.
