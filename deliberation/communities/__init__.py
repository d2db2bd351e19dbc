"""Communities: membership, units (户) and owners, and the roles people hold."""
