"""Measures (表决事项) and voting: methods, rules, eligibility, secrecy, receipts, paper ballots."""
