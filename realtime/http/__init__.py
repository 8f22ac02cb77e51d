"""HTTP endpoints: publishing, health and errors."""
