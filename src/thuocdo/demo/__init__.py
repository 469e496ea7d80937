"""The demo data set: a seeded synthetic panel standing for Vietnam's smartphone users."""
