"""SMART Backend Services: registered clients (one organization, one JWKS), assertions, bearer tokens."""
