"""The parsers of ``scripts/refresh_schemas.py`` on small inputs in the sources' own shapes.

No network: the script's fetching is never called here.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

SCRIPT = Path(__file__).resolve().parents[3] / "scripts" / "refresh_schemas.py"


@pytest.fixture(scope="module")
def rs() -> ModuleType:
    spec = importlib.util.spec_from_file_location("refresh_schemas", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["refresh_schemas"] = module
    spec.loader.exec_module(module)
    return module


ENDPOINTS_TS = """export type ImageSize = {
  /**
   * The height. Default value: `512`
   */
  height?: number;
  width?: number;
};
export type DemoInput = {
  /**
   * The aspect ratio. Default value: `"16:9"`
   */
  aspect_ratio?: "16:9" | "9:16";
  /**
   * Durations
   */
  duration?:
    | "5"
    | "10";
  image_size?: ImageSize | "square_hd" | "square";
  image_url: string | Blob | File;
  image_urls?: Array<string | Blob | File>;
  prompt: string;
  seed?: number;
  sync_mode?: boolean;
};
export type DemoFastInput = DemoInput;
export type DemoOutput = {
  video: string;
};
export type EndpointTypeMap = {
  "fal-ai/demo": {
    input: DemoInput;
    output: DemoOutput;
  };
  "fal-ai/demo/fast": {
    input: DemoFastInput;
    output: DemoOutput;
  };
};
"""


def test_ts_endpoint_types(rs: Any) -> None:
    ts = rs.TsTypes(ENDPOINTS_TS)
    assert ts.endpoints == {"fal-ai/demo": "DemoInput", "fal-ai/demo/fast": "DemoFastInput"}
    fields = ts.fields("DemoFastInput")  # an alias resolves to the object
    assert fields["aspect_ratio"] == {
        "type": "string",
        "enum": ["16:9", "9:16"],
        "required": False,
        "default": "16:9",
    }
    assert fields["duration"]["enum"] == ["5", "10"]
    assert fields["image_size"]["type"] == "object|string"
    assert fields["image_size"]["enum"] == ["square_hd", "square"]
    assert fields["image_url"] == {"type": "file", "required": True}
    assert fields["image_urls"]["items"] == {"type": "file"}
    assert fields["prompt"] == {"type": "string", "required": True}
    assert fields["seed"]["type"] == "number" and fields["sync_mode"]["type"] == "boolean"


ZOD = """export const zDemoInput = z.object({
  num_images: z
    .int()
    .gte(1)
    .lte(4)
    .register(z.globalRegistry, {
      description: "count (1..4)",
    })
    .optional()
    .default(1),
  fps: z.union([z.int().gte(4).lte(60), z.unknown()]).optional(),
  first_n: z.optional(z.int().gte(2).lte(4)).default(3),
  image_urls: z.array(z.string()).min(1).max(7),
  prompt: z.string().max(2000),
  guidance: z.number().gt(0).lt(10),
});
"""
ENDPOINT_SCHEMA = """  z.object({
    endpoint: z.literal("fal-ai/demo"),
    input: zDemoInput,
    output: zDemoOutput,
  }),
"""


def test_zod_ranges(rs: Any) -> None:
    ranges = rs.zod_ranges(ZOD, ENDPOINT_SCHEMA)["fal-ai/demo"]
    assert ranges["num_images"] == {"integer": True, "minimum": 1, "maximum": 4}
    assert ranges["fps"] == {"integer": True, "minimum": 4, "maximum": 60}
    assert ranges["first_n"] == {"integer": True, "minimum": 2, "maximum": 4}
    assert ranges["image_urls"] == {"min_items": 1, "max_items": 7}
    assert "prompt" not in ranges  # a string length is not a numeric range
    assert ranges["guidance"] == {"exclusive_minimum": 0, "exclusive_maximum": 10}


OPENAPI: dict[str, Any] = {
    "paths": {
        "/fal-ai/demo": {
            "post": {
                "requestBody": {
                    "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/DemoInput"}}
                    }
                }
            }
        },
        "/fal-ai/demo/requests/{request_id}/cancel": {"put": {}},
    },
    "components": {
        "schemas": {
            "DemoInput": {
                "type": "object",
                "required": ["prompt"],
                "properties": {
                    "prompt": {"type": "string"},
                    "resolution": {
                        "allOf": [{"$ref": "#/components/schemas/Res"}],
                        "default": "720p",
                    },
                    "num_images": {"type": "integer", "minimum": 1, "maximum": 4},
                    "image_url": {"type": "string", "format": "uri"},
                    "seed": {"anyOf": [{"type": "integer"}, {"type": "null"}]},
                },
            },
            "Res": {"type": "string", "enum": ["720p", "1080p"]},
        }
    },
}


def test_fal_openapi_input(rs: Any) -> None:
    fields = rs.fal_openapi_input(OPENAPI)
    assert fields["prompt"] == {"type": "string", "required": True}
    assert fields["resolution"]["enum"] == ["720p", "1080p"]
    assert fields["resolution"]["default"] == "720p"
    assert fields["num_images"] == {
        "type": "number",
        "integer": True,
        "minimum": 1,
        "maximum": 4,
        "required": False,
    }
    assert fields["image_url"]["type"] == "file"
    assert fields["seed"]["type"] == "null|number" and fields["seed"]["integer"] is True


def test_diff_reports_ids_and_fields(rs: Any) -> None:
    old = {"endpoint_ids": ["a", "b"], "endpoints": {"a": {"fields": {"x": {"type": "string"}}}}}
    new = {"endpoint_ids": ["a", "c"], "endpoints": {"a": {"fields": {"x": {"type": "number"}}}}}
    lines = list(rs.diff(old, new, "endpoints"))
    assert "+ endpoint c" in lines and "- endpoint b" in lines
    assert any(line.startswith("~ a x:") for line in lines)
    assert list(rs.diff(new, new, "endpoints")) == []


def test_fetcher_refuses_plain_http_and_is_bounded(rs: Any) -> None:
    fetcher = rs.Fetcher(max_requests=0)
    with pytest.raises(ValueError, match="non-https"):
        fetcher.get("http://example.test/x")
    with pytest.raises(RuntimeError, match="budget"):
        fetcher.get("https://example.test/x")


def test_check_record_names_the_source_and_the_outcome(rs: Any) -> None:
    import datetime as dt

    fresh = {"sources": {"endpoint_types": {"repo": "fal-ai/fal-js", "commit": "abc"}}}
    entry = rs.check_record(fresh, ["+ endpoint x"], "refresh_schemas.py fal", dt.date(2026, 1, 2))
    assert entry == {
        "date": "2026-01-02",
        "against": {"repo": "fal-ai/fal-js", "commit": "abc"},
        "how": "refresh_schemas.py fal",
        "differences": 1,
        "first_differences": ["+ endpoint x"],
    }


def test_offline_refresh_then_recorded_check_from_a_local_clone(
    rs: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import json
    import subprocess

    clone = tmp_path / "fal-js"
    target = clone / "libs" / "client" / "src" / "types" / "endpoints.ts"
    target.parent.mkdir(parents=True)
    target.write_text(ENDPOINTS_TS, encoding="utf-8")
    git = ["git", "-C", str(clone), "-c", "user.name=t", "-c", "user.email=t@example.invalid"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "types"], check=True)
    monkeypatch.setattr(rs, "ROOT", tmp_path)
    monkeypatch.setattr(rs, "DATA", tmp_path / "schemas")
    args = ["fal", "--fal-git", str(clone), "--types-ref", "HEAD"]

    assert rs.main(args) == 0  # offline refresh: writes the snapshot and logs itself
    path = tmp_path / "schemas" / "fal.json"
    first = json.loads(path.read_text(encoding="utf-8"))
    assert first["endpoint_ids"] == ["fal-ai/demo", "fal-ai/demo/fast"]
    assert [c["differences"] for c in first["fresh_checks"]] == [2]
    assert str(clone) not in first["fresh_checks"][0]["how"]  # no local paths in the data

    assert rs.main([*args, "--check", "--record"]) == 0
    second = json.loads(path.read_text(encoding="utf-8"))
    assert {k: v for k, v in second.items() if k != "fresh_checks"} == {
        k: v for k, v in first.items() if k != "fresh_checks"
    }
    assert [c["differences"] for c in second["fresh_checks"]] == [2, 0]
    commit = subprocess.run(
        [*git, "rev-parse", "HEAD"], check=True, capture_output=True, text=True
    ).stdout.strip()
    assert second["fresh_checks"][-1]["against"]["commit"] == commit
    assert "0 difference(s)" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        rs.main([*args, "--record"])  # --record without --check is refused
