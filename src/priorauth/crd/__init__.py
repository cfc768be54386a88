"""Da Vinci CRD 2.2 over CDS Hooks 2.0: discovery and the order hooks' coverage information."""
