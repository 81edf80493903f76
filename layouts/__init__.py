"""One module per dashboard: the component tree the user sees, and the ids of its components."""
