"""Who is asking, and what they may do. `principal` holds the answer; `permissions` the rules."""
