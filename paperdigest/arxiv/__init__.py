"""Reading arXiv announcements: feed parsing, HTTP and the listing loader."""
