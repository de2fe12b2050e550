"""The event contract: validation, agent events, field readers, time parsing, the JSON Schemas."""
