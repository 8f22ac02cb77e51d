"""The wire protocol: channels, envelopes, client messages and errors; no network."""
