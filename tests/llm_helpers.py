"""Services whose conversation engine is the LLM one, talking to the local fake OpenAI server."""

from __future__ import annotations

from pathlib import Path

from receptionist.config.settings import Settings
from receptionist.runtime.services import build_services
from tests.conftest import TEST_TOKEN


def llm_settings(
    tmp_path: Path, database_url: str, redis_url: str, fake_url: str, timeout_s: float = 2.0
) -> Settings:
    return Settings(
        receptionist_home=tmp_path,
        database_url=database_url,
        redis_url=redis_url,
        twilio_auth_token=TEST_TOKEN,
        public_base_url="http://testserver",
        openai_api_key="test",
        openai_base_url=fake_url,
        openai_model="fake-model",
        openai_timeout_s=timeout_s,
    )


def llm_services(tmp_path: Path, database_url: str, redis_url: str, fake_url: str, timeout_s: float = 2.0):
    return build_services(llm_settings(tmp_path, database_url, redis_url, fake_url, timeout_s), migrate=False)
