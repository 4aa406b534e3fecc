"""Three-party calls (caller + 12345 + 110) in ConfBridge rooms: docs/conferences.md."""
