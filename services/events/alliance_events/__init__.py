"""The events service: activities run jointly by the three districts (活动联抓)."""
