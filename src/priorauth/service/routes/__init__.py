"""Thin HTTP routes: read the request, call a service, write the answer."""
