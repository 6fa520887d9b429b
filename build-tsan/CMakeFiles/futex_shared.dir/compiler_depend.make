# Empty compiler generated dependencies file for futex_shared.
# This may be replaced when dependencies are built.
