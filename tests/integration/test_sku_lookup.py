"""SKU lookup for orders: a combination's own identifier, else its product's (set-based, index-friendly)."""

from __future__ import annotations

from typing import Any

import pytest

from bridge.shop.schema import reflect_shop_tables
from bridge.shop.skus import resolve_skus
from bridge.testshop.products import Combo, add_product


@pytest.mark.db
def test_a_combination_without_reference_answers_to_its_products_and_one_with_its_own_does_not(shop: Any) -> None:
    with shop.engine.begin() as conn:
        parent = add_product(conn, shop.ids, reference="PARENT", name="Parent", price="10.00",
                             combinations=(Combo("", ("S", "Blue"), 1, default=True), Combo("OWN-1", ("S", "Red"), 2)))
        tables = reflect_shop_tables(conn, shop.prefix)
        found = resolve_skus(conn, tables, id_shop=1, rule="reference", skus=["PARENT", "OWN-1", "MUG", "NOPE"])
    plain = next(c for c in parent.combinations.values() if c.reference == "")
    own = parent.combinations["OWN-1"]
    mug = shop.ids.product("MUG").id_product
    assert [(r.id_product, r.id_product_attribute) for r in found["PARENT"].refs] == [
        (parent.id_product, plain.id_product_attribute)]
    assert [(r.id_product, r.id_product_attribute) for r in found["OWN-1"].refs] == [
        (parent.id_product, own.id_product_attribute)]
    assert [(r.id_product, r.id_product_attribute) for r in found["MUG"].refs] == [(mug, 0)]
    assert found["NOPE"].refs == ()
