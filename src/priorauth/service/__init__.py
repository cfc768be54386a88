"""The PAS service: settings, the decision service (no HTTP), and the FastAPI application factory."""
