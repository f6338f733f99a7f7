"""The kit's fixtures (ca, ca_bundle, receiver, logs) load through its pytest plugin."""
