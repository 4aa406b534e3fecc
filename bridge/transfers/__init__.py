"""One-key transfer between 12345 and 110 with the linkage ticket: orchestration over AMI,
in-flight records for recovery, agent drafts, and the HTTP routes (see docs/transfers.md)."""
