"""Pack writers: results.json, report.md, report.html, figures/ and tables/."""
