"""Load test (Locust) and benchmark of boleta."""
