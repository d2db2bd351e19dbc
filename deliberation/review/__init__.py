"""Expert and legal review of agenda items: requests, reviews with verdicts, legal objections."""
