"""PrestaShop test-shop builder: table definitions (PS 8.1/9.0 columns) and coherent seed data."""
