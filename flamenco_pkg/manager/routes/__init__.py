"""HTTP routes, one module per API tag. Each exposes HANDLERS: operationId -> function."""
