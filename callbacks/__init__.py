"""One module per dashboard: register(app, services) wires what reacts to the user."""
