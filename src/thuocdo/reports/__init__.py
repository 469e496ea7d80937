"""Results → Vietnamese documents."""
