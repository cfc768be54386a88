"""FHIR adapters: read a PAS request Bundle into the engine's facts."""
