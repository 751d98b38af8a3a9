"""The curation job: raw enriched events -> bronze, quarantine and silver Delta tables."""
