"""The local runtime's faster sort of moto's DynamoDB query results (`moto_server._sorted_items_by_plain_keys`,
`_all_items_by_plain_keys`) orders items exactly as moto's own `Table.sorted_items` / `Table.all_items` do, on
string and number keys with ties, for a table query and a GSI query (moto is pinned; this pins the patch)."""

from __future__ import annotations

import random
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.dynamodb.models.table import Table
from silastri_local import moto_server

REGION = "ap-southeast-3"


def _original(name: str) -> Any:
    return moto_server._ORIGINALS.get(f"dynamodb_{name}", getattr(Table, name))


@pytest.fixture
def table() -> Any:
    with mock_aws():
        client = boto3.client("dynamodb", region_name=REGION)
        client.create_table(
            TableName="t", BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": a, "AttributeType": t} for a, t in
                                  (("pk", "S"), ("sk", "N"), ("owner", "S"), ("created", "S"))],
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            GlobalSecondaryIndexes=[{"IndexName": "by_owner", "Projection": {"ProjectionType": "KEYS_ONLY"},
                                     "KeySchema": [{"AttributeName": "owner", "KeyType": "HASH"},
                                                   {"AttributeName": "created", "KeyType": "RANGE"}]}])
        rng = random.Random(12)
        for i in range(300):
            client.put_item(TableName="t", Item={
                "pk": {"S": f"p{rng.randrange(40)}"}, "sk": {"N": str(rng.choice([-5, 0, 2, 10, 2.5, 100, i]))},
                "owner": {"S": rng.choice(["a", "b", "c"])}, "created": {"S": f"2026-11-{rng.randrange(1, 30):02d}"}})
        from moto.dynamodb.models import dynamodb_backends

        yield dynamodb_backends["123456789012"][REGION].get_table("t")


def _keys(items: list[Any]) -> list[tuple[Any, ...]]:
    return [(i.attrs["pk"].value, i.attrs["sk"].value) for i in items]


def test_all_items_order_is_moto_s(table: Any) -> None:
    assert _keys(moto_server._all_items_by_plain_keys(table)) == _keys(_original("all_items")(table))


def test_gsi_and_table_sort_orders_are_moto_s(table: Any) -> None:
    items = list(_original("all_items")(table))
    random.Random(3).shuffle(items)
    for hash_attrs, range_attrs in ((["owner", "pk"], ["created", "sk"]), (["pk"], ["sk"])):
        ours = moto_server._sorted_items_by_plain_keys(table, hash_attrs, range_attrs, list(items))
        theirs = _original("sorted_items")(table, hash_attrs, range_attrs, list(items))
        assert _keys(ours) == _keys(theirs)
