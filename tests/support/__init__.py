"""Test support: probe services built on the platform, and helpers shared by the test levels."""
