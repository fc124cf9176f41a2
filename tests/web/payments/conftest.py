"""Payment tests run with production-shaped Paybox settings trusting a key made for the check;
the simulator tests switch to the simulator with its key pair in a temporary directory."""

from __future__ import annotations

import pytest

from ecp.payments.config import SIMULATOR_PATH, TEST_HMAC_KEY, PayboxConfig
from tests.payments_factories import test_config


@pytest.fixture(scope="session")
def paybox_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("paybox")


@pytest.fixture
def settings(settings, paybox_dir, tmp_path):
    return settings.with_(paybox=test_config(paybox_dir, spool_dir=str(tmp_path / "spool")))


@pytest.fixture
def simulator_settings(settings, paybox_dir):
    config = PayboxConfig(
        site="1999888",
        rang="32",
        identifiant="107904482",
        hmac_key=TEST_HMAC_KEY,
        endpoints=(SIMULATOR_PATH,),
        public_key_files=(),
        simulator=True,
        test_keys_dir=str(paybox_dir / "sim-keys"),
        spool_dir=str(paybox_dir / "sim-spool"),
    )
    return settings.with_(payment_simulator=True, paybox=config)


@pytest.fixture
def simulator_app(simulator_settings, app_for):
    return app_for(simulator_settings)


@pytest.fixture
async def sim_client(simulator_app):
    from tests.conftest import make_client

    async with make_client(simulator_app) as c:
        yield c
