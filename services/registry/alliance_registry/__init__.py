"""The registry service: the alliance's register of districts, organisations and merchants."""
