"""Stand-in for Hermes' gateway package (tests only)."""
STANDIN = True
