"""What the routers call: each service does one job over the shared Runtime."""
