import shutil
from pathlib import Path

import pytest
import yaml

from jobs.contracts import CONTRACTS_DIR, ContractError, load_contracts


def test_the_shipped_contracts_load_and_upcast_to_their_current_version():
    registry = load_contracts()
    assert {c.id for c in registry.contracts} == {
        "YellowTaxiTripRecords/1-0-0",
        "YellowTaxiTripRecords/1-1-0",
        "EthereumTokenTransfer/1-0-0",
        "EthereumToken/1-0-0",
    }
    assert registry.current("YellowTaxiTripRecords").schema_version == "1-1-0"
    old = registry.get("YellowTaxiTripRecords", "1-0-0")
    assert old is not None
    assert old.upcast_to == "1-1-0" and old.upcast_set == {"airport_fee": None}
    assert registry.target_tables == {
        "silver.taxi_trips": "YellowTaxiTripRecords",
        "silver.token_transfers": "EthereumTokenTransfer",
        "silver.tokens": "EthereumToken",
    }
    assert registry.current("EthereumTokenTransfer").business_key == ("transaction_hash", "log_index")
    assert registry.current("EthereumTokenTransfer").partition_by == ("business_date",)
    assert registry.current("EthereumToken").partition_by == ()


def copy_contracts(tmp_path: Path) -> Path:
    directory = tmp_path / "contracts"
    shutil.copytree(CONTRACTS_DIR, directory)
    return directory


def edit(path: Path, change) -> None:
    document = yaml.safe_load(path.read_text())
    change(document)
    path.write_text(yaml.safe_dump(document))


@pytest.mark.parametrize(
    "change, expected",
    [
        (
            lambda d: d["fields"][3].update(type="money"),
            ["EthereumTokenTransfer-1-0-0.yaml", "field 'value'", "unknown type 'money'"],
        ),
        (lambda d: d["fields"][5].pop("nullable"), ["field 'log_index'", "missing 'nullable'"]),
        (
            lambda d: d["fields"][0].update(pattern="^0x[0-9a-f{40}$"),
            ["field 'token_address'", "pattern does not compile"],
        ),
        (lambda d: d["fields"][5].update(min="zero"), ["field 'log_index'", "'min' needs"]),
        (
            lambda d: d.update(business_key=["transaction_hash", "log_idx"]),
            ["business_key names unknown column 'log_idx'"],
        ),
        (lambda d: d["fields"][1].update(column="FromAddress"), ["field 'from_address'", "not snake_case"]),
        (lambda d: d.update(colour="blue"), ["unknown key(s) ['colour']"]),
        (lambda d: d.update(partition_by=["block_day"]), ["partition_by names unknown column 'block_day'"]),
        (lambda d: d.update(schema_version="v1"), ["schema_version must look like"]),
        (lambda d: d.update(look_back_days=-1), ["look_back_days must be a whole number"]),
    ],
)
def test_a_broken_contract_fails_fast_naming_the_file_and_the_field(tmp_path, change, expected):
    directory = copy_contracts(tmp_path)
    edit(directory / "EthereumTokenTransfer-1-0-0.yaml", change)
    with pytest.raises(ContractError) as error:
        load_contracts(directory)
    for text in expected:
        assert text in str(error.value)


def test_a_rule_on_an_unknown_column_is_named(tmp_path):
    directory = copy_contracts(tmp_path)
    edit(directory / "YellowTaxiTripRecords-1-1-0.yaml", lambda d: d["rules"][0]["compare"].update(left="drop_off_at"))
    with pytest.raises(
        ContractError,
        match=r"YellowTaxiTripRecords-1-1-0.yaml: rule 'dropoff_before_pickup' names unknown column 'drop_off_at'",
    ):
        load_contracts(directory)


def test_an_old_version_must_say_how_it_upcasts(tmp_path):
    directory = copy_contracts(tmp_path)
    edit(directory / "YellowTaxiTripRecords-1-0-0.yaml", lambda d: d["upcast"].update(set={}))
    with pytest.raises(
        ContractError, match=r"YellowTaxiTripRecords-1-0-0.yaml: upcast must set the columns \['airport_fee'\]"
    ):
        load_contracts(directory)


def test_invalid_yaml_names_the_file(tmp_path):
    directory = copy_contracts(tmp_path)
    (directory / "EthereumToken-1-0-0.yaml").write_text("fields: [unclosed\n")
    with pytest.raises(ContractError, match=r"EthereumToken-1-0-0\.yaml: not valid YAML"):
        load_contracts(directory)


def test_only_hex_string_patterns_are_decided_without_a_regex():
    from jobs.patterns import spark_matches

    for pattern in ("^0x[0-9a-f]{40}$", "^[0-9a-f]{64}$"):
        assert "RLIKE" not in spark_matches("v", pattern), pattern
    for pattern in ("^0x[0-9a-f]{40}", "0x[0-9a-f]{40}$", "^[0-9a-fA-F]{8}$", "^0x[0-9a-f]+$", "^0y[0-9a-f]{4}$"):
        assert spark_matches("v", pattern) == f"v RLIKE '{pattern}'", pattern
