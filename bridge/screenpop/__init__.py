"""Screen-pop: a live stream (SSE) per queue and per agent announcing linked calls as they
arrive and are answered, and a minimal page per agent for call-takers with no desktop."""
