"""The one door to the PrestaShop database (SQLAlchemy Core over reflected ps_ tables)."""
