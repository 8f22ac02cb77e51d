"""The bus: publications in, history kept, deliveries out to subscribers."""
