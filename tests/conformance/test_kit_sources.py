"""The source kit itself: a well-behaved source passes every check, and each fault a
plugin can have fails the check meant for it, saying what is wrong."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any, ClassVar

import pytest
from hypothesis import strategies as st

from floki_core.conformance import ConformanceFailure, Sighting, SourceConformance
from tests.conformance.kit_samples import NAME, SamplePlugin, decode, raising_decode


class SampleKit(SourceConformance):
    """The kit as the sample's author would write it (not collected: no Test prefix)."""

    plugin = NAME
    source = NAME
    expected = (
        Sighting("ble", "C3:A1:B2:C3:D4:E5", "bay-1", receiver_technology="ble"),
        Sighting("ble", "C3:A1:B2:C3:D4:E6", "bay-1", receiver_technology="ble"),
    )
    bad_reasons: ClassVar[Mapping[str, int]] = {"bad_rssi": 1, "bad_field_count": 1}
    decoder = decode
    counted_within_seconds = 1.0  # in-process, at once; a failing case waits no longer


Check = Callable[..., Awaitable[None]]
SOURCE_CHECKS = (
    "test_good_input_arrives_batched_with_its_claims_and_binds",
    "test_bad_input_is_counted_by_reason_logged_once_and_locates_nothing",
    "test_a_lost_device_shows_with_a_reason_and_recovers",
    "test_stop_is_clean_while_input_arrives",
    "test_replayed_input_makes_no_duplicate_history",
)


async def run_check(
    name: str, sample: SamplePlugin, tmp_path: Path, template: Path, kit: Any = None
) -> None:
    kit = kit or SampleKit()
    assert sample.port is not None
    await getattr(kit, name)(tmp_path / name, template, sample.port)


async def test_a_well_behaved_source_passes_every_check(
    sample_installed: SamplePlugin, tmp_path: Path, floki_migrated_database: Path
) -> None:
    kit = SampleKit()
    await kit.test_loads_through_its_entry_point(tmp_path / "load", floki_migrated_database)
    await kit.test_config_defaults_validate_and_every_key_is_documented(
        tmp_path / "settings", floki_migrated_database
    )
    kit.test_decoder_raises_only_its_declared_errors()
    for name in SOURCE_CHECKS:
        sample_installed.port = type(sample_installed.port)()  # a fresh device each time
        await run_check(name, sample_installed, tmp_path, floki_migrated_database)


FAULTS = [
    pytest.param(
        "one_per_batch",
        "test_good_input_arrives_batched_with_its_claims_and_binds",
        r"delivered 2 observations in 2 batches, 3 times: deliver what arrives together",
        id="unbatched",
    ),
    pytest.param(
        "blocks_the_loop",
        "test_good_input_arrives_batched_with_its_claims_and_binds",
        r"the event loop stalled \d+ ms in .*kit_samples.py:\d+ in _take",
        id="blocking",
    ),
    pytest.param(
        "leaves_a_thread",
        "test_stop_is_clean_while_input_arrives",
        r"left behind after the appliance stopped: thread 'sample-reader' is still running",
        id="thread-left",
    ),
    pytest.param(
        "slow_stop",
        "test_stop_is_clean_while_input_arrives",
        r"stopping took [\d.]+ s; at most 2 s",
        id="slow-stop",
    ),
    pytest.param(
        "uncounted_refusals",
        "test_bad_input_is_counted_by_reason_logged_once_and_locates_nothing",
        r"GET /api/v1/sources shows kit-sample as nothing; expected rejected to hold",
        id="uncounted",
    ),
    pytest.param(
        "raises_on_bad_input",
        "test_bad_input_is_counted_by_reason_logged_once_and_locates_nothing",
        r"GET /api/v1/sources shows kit-sample as",
        id="raises",
    ),
]


@pytest.mark.parametrize(("fault", "check", "message"), FAULTS)
async def test_each_fault_fails_its_check_saying_what_is_wrong(
    fault: str,
    check: str,
    message: str,
    sample_installed: SamplePlugin,
    tmp_path: Path,
    floki_migrated_database: Path,
) -> None:
    setattr(sample_installed.faults, fault, True)
    with pytest.raises(AssertionError, match=message):
        await run_check(check, sample_installed, tmp_path, floki_migrated_database)


class DroppedByDesignKit(SampleKit):
    expected_reasons = frozenset({"bad_rssi"})


async def test_a_reason_dropped_by_design_must_not_be_logged_as_a_warning(
    sample_installed: SamplePlugin, tmp_path: Path, floki_migrated_database: Path
) -> None:
    # The sample source reports every refusal without expected=True: logged at WARNING.
    with pytest.raises(AssertionError, match=r"'bad_rssi' is dropped by design .* WARNING"):
        await run_check(
            "test_bad_input_is_counted_by_reason_logged_once_and_locates_nothing",
            sample_installed,
            tmp_path,
            floki_migrated_database,
            DroppedByDesignKit(),
        )


async def test_an_undocumented_setting_is_named(
    sample_installed: SamplePlugin, tmp_path: Path, floki_migrated_database: Path
) -> None:
    sample_installed.faults.undocumented_setting = True
    with pytest.raises(
        AssertionError,
        match=r"\[plugin.kit-sample\] settings documented "
        r"nowhere: poll_knob",
    ):
        await SampleKit().test_config_defaults_validate_and_every_key_is_documented(
            tmp_path, floki_migrated_database
        )


def test_a_decoder_raising_what_it_does_not_declare_is_caught() -> None:
    lines = st.lists(st.text(max_size=5), min_size=3, max_size=3).map(
        lambda fields: ",".join(fields).encode()
    )

    class Raising(SampleKit):
        decoder = raising_decode
        decoder_inputs = lines

    with pytest.raises(
        ConformanceFailure, match=r"raised ValueError: .* it may raise only nothing"
    ):
        Raising().test_decoder_raises_only_its_declared_errors()

    class Declared(SampleKit):
        decoder = raising_decode
        decoder_inputs = lines
        decoder_errors = (ValueError,)

    Declared().test_decoder_raises_only_its_declared_errors()


async def test_a_plugin_without_an_entry_point_is_told_how_to_add_one(
    tmp_path: Path, floki_migrated_database: Path
) -> None:
    with pytest.raises(
        ConformanceFailure, match=r"no entry point 'kit-sample' in the 'floki' group"
    ):
        await SampleKit().test_loads_through_its_entry_point(tmp_path, floki_migrated_database)
