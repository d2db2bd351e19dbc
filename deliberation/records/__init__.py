"""Outcome records: resolutions (决议) in a hash chain, the public archive, implementation tracking."""
