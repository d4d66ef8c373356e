"""mirakl-bridge: PrestaShop database <-> Mirakl seller API daemon."""

__version__ = "0.1.0"
