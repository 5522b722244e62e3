"""The tickets service: the merchants' demand list (需求清单)."""
