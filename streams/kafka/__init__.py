"""The Kafka plumbing: connection options, topics, the ccmon:// transport and its drain loop,
preflight."""
