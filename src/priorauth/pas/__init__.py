"""Da Vinci PAS 2.2.1 wire format: request validation, ClaimResponse and response Bundles, OperationOutcome."""
