"""flamenco-worker.yaml, the Flamenco home and the credentials file."""

from __future__ import annotations

import stat

import pytest

from flamenco_pkg.worker.config import (ConfigError, Credentials, WorkerConfig, flamenco_home, load_config,
                                        load_credentials, parse_manager_url, save_credentials, worker_name)


def test_missing_or_empty_file_gives_defaults(tmp_path):
    assert load_config(tmp_path / "nope.yaml") == WorkerConfig()
    (tmp_path / "empty.yaml").write_text("")
    cfg = load_config(tmp_path / "empty.yaml")
    assert cfg.task_types == ["blender", "ffmpeg", "file-management", "misc"]
    assert cfg.restart_exit_code == 0 and cfg.oom_score_adjust is None and cfg.manager_url == ""


def test_fields_are_read_and_trimmed_unknown_keys_ignored(tmp_path):
    path = tmp_path / "flamenco-worker.yaml"
    path.write_text("worker_name: '  render-07 '\nmanager_url: ' http://mgr:8080/ '\ntask_types: [blender]\n"
                    "restart_exit_code: 47\noom_score_adjust: 500\nsomething_new: 1\n")
    cfg = load_config(path)
    assert (cfg.worker_name, cfg.manager_url, cfg.task_types, cfg.restart_exit_code, cfg.oom_score_adjust) == \
        ("render-07", "http://mgr:8080/", ["blender"], 47, 500)


@pytest.mark.parametrize("text, field", [
    ("worker_name: [a\n", "not valid YAML"), ("task_types: blender\n", "task_types"),
    ("restart_exit_code: soon\n", "restart_exit_code"), ("- a\n", "mapping"),
])
def test_invalid_files_name_the_problem(tmp_path, text, field):
    path = tmp_path / "flamenco-worker.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=field):
        load_config(path)


@pytest.mark.parametrize("given, url", [
    ("http://mgr:8080/", "http://mgr:8080/"), ("mgr", "http://mgr"), ("mgr:8083", "http://mgr:8083"),
    ("https://farm.example/flamenco/", "https://farm.example/flamenco/"), ("10.0.0.5:8080", "http://10.0.0.5:8080"),
])
def test_manager_url_parsing(given, url):
    assert parse_manager_url(given) == url


@pytest.mark.parametrize("bad", ["http://", "ftp://mgr/", ""])
def test_manager_url_without_host_is_an_error(bad):
    with pytest.raises(ConfigError):
        parse_manager_url(bad)


def test_worker_name_order(monkeypatch):
    monkeypatch.setenv("FLAMENCO_WORKER_NAME", "  from-env ")
    assert worker_name(WorkerConfig(worker_name="from-config")) == "from-config"
    assert worker_name(WorkerConfig()) == "from-env"
    monkeypatch.setenv("FLAMENCO_WORKER_NAME", "  ")
    assert worker_name(WorkerConfig()) not in ("", "  ")


def test_home_from_env_is_created(tmp_path, monkeypatch):
    monkeypatch.setenv("FLAMENCO_HOME", str(tmp_path / "fh"))
    assert flamenco_home() == tmp_path / "fh"
    assert (tmp_path / "fh").is_dir()
    monkeypatch.delenv("FLAMENCO_HOME")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert flamenco_home() == tmp_path / "xdg" / "flamenco"


def test_credentials_round_trip_private_file(tmp_path):
    assert load_credentials(tmp_path) is None
    path = save_credentials(tmp_path, Credentials("0f6e8e07-4e7c-44c2-8916-9a706838348e", "s3cr3t"))
    assert path.name == "flamenco-worker-credentials.yaml"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text().startswith("#")
    assert not (tmp_path / "flamenco-worker-credentials.yaml~").exists()
    creds = load_credentials(tmp_path)
    assert creds == Credentials("0f6e8e07-4e7c-44c2-8916-9a706838348e", "s3cr3t")
    assert "s3cr3t" not in repr(creds)


def test_registration_token_is_read_and_sent_on_register_only(tmp_path):
    from flamenco_pkg.worker.registration import registration_headers

    path = tmp_path / "flamenco-worker.yaml"
    path.write_text("registration_token: ' flm_abc '\n")
    cfg = load_config(path)
    assert cfg.registration_token == "flm_abc"
    assert "flm_abc" not in repr(cfg)  # not in logs of the config
    assert registration_headers(cfg) == {"Authorization": "Bearer flm_abc"}
    assert registration_headers(WorkerConfig()) is None  # as upstream: nothing
