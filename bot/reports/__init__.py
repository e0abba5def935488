"""The operations report (SPEC section 9): computed figures written as report.html with charts and as CSV files."""
