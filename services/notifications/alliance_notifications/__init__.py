"""The notifications service: reaches staff and merchants on the right channel."""
