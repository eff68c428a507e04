"""Run the TypeScript SDK's own tests (sdk-typescript's packages/test) against a server.

Three steps (README.md here says more):

    python scripts/ts_sdk_tests/run_tests.py setup --sdk SDK_GIT_DIR --dir DIR
    python scripts/ts_sdk_tests/run_tests.py run --dir DIR --address 127.0.0.1:7233 --out A.json
    python scripts/ts_sdk_tests/run_tests.py compare A.json B.json

`setup` exports packages/test and packages/test-helpers from a git checkout (or a bare
mirror) of temporalio/sdk-typescript into DIR, installs the PUBLISHED @temporalio packages
of one pinned version (no Rust build: their core bridge is prebuilt) with the tests' own
npm dependencies, and compiles the protos, the test helpers and the tests with tsc.
`run` runs each test file with ava (one file at a time, ava's own concurrency 1) with
TEMPORAL_SERVICE_ADDRESS set, so that the tests' environment connects to the server at
--address instead of downloading one, parses the TAP output and writes each test's
outcome (passed, failed, skipped, todo) to --out. `compare` prints the tests whose
outcomes differ between two runs and the totals of each.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, NoReturn

SDK_VERSION = "1.22.0"  # the release the exported tests were written against
PACKAGES = [
    "activity",
    "client",
    "cloud",
    "common",
    "core-bridge",
    "envconfig",
    "interceptors-opentelemetry",
    "lambda-worker",
    "nexus",
    "nyc-test-coverage",
    "plugin",
    "proto",
    "testing",
    "worker",
    "workflow",
]
# The tests' own dependencies (packages/test/package.json of that release), plus the
# tools that build them and the test helpers' own, at the versions measured with.
DEPENDENCIES = {
    "@grpc/grpc-js": "1.14.7",
    "@grpc/proto-loader": "0.7.15",
    "@opentelemetry/api": "1.9.1",
    "@opentelemetry/core": "1.30.1",
    "@opentelemetry/exporter-trace-otlp-grpc": "0.52.1",
    "@opentelemetry/sdk-node": "0.52.1",
    "@opentelemetry/sdk-trace-base": "1.30.1",
    "@opentelemetry/semantic-conventions": "1.45.0",
    "arg": "5.0.2",
    "async-retry": "1.3.3",
    "ava": "5.3.1",
    "dedent": "1.7.2",
    "glob": "10.5.0",
    "istanbul-lib-coverage": "3.2.2",
    "long": "5.3.2",
    "ms": "3.0.0-canary.1",
    "nexus-rpc": "0.0.2",
    "pidusage": "3.0.2",
    "protobufjs": "7.6.6",
    "protobufjs-cli": "1.3.3",
    "rxjs": "7.8.1",
    "stack-utils": "2.0.6",
    "fs-extra": "11.4.1",
    "typescript": "5.6.3",
    "tsx": "4.23.15",
    "@tsconfig/node20": "20.1.10",
    "@types/node": "20.19.43",
    "@types/async-retry": "1.4.9",
    "@types/fs-extra": "11.0.4",
    "@types/istanbul-lib-coverage": "2.0.6",
    "@types/pidusage": "2.0.5",
    "@types/stack-utils": "2.0.3",
}
# Test files not compiled: they need what the published packages of SDK_VERSION lack.
DROPPED = {
    "test-nexus-temporal-operation.ts": "uses client/nexus internals added after 1.22.0 "
    "(InternalActivityStartOptions, encodeOperationToken, TemporalNexusClient.typedActivity)",
}
# Two changes for a server that is already up (file, text, replacement):
# - the helpers' existing-server path drops the test's client options (a data converter
#   with a payload codec), which the local path keeps: passed on, as the local path does;
# - the multi-codec tests (test-integration-split-*.ts) run each test once per codec, at
#   once, on one task queue: locally each codec has a server of its own, but on one
#   server a worker picks up the other codec's workflow tasks and cannot decode them.
#   The codecs run one after the other instead.
PATCHES = [
    (
        "packages/test-helpers/src/environment.ts",
        "      address: process.env.TEMPORAL_SERVICE_ADDRESS,\n      plugins: opts?.plugins,",
        "      address: process.env.TEMPORAL_SERVICE_ADDRESS,\n      client: opts?.client,\n"
        "      plugins: opts?.plugins,",
    ),
    (
        "packages/test/src/helpers-integration-multi-codec.ts",
        "  const testPromises = t.context.configs.map(async (config) => {\n"
        "    // Note: ideally, we'd like to add an annotation to the test name to indicate"
        " what codec it used\n"
        "    await testFn(t, config);\n  });\n  await Promise.all(testPromises);",
        "  for (const config of t.context.configs) {\n    await testFn(t, config);\n  }",
    ),
]
TSCONFIG_BASE = {
    "extends": "@tsconfig/node20/tsconfig.json",
    "compilerOptions": {
        "module": "commonjs",
        "moduleResolution": "node",
        "sourceMap": True,
        "experimentalDecorators": True,
        "noUncheckedIndexedAccess": True,
        "skipLibCheck": True,
    },
}
TEST_LINE = re.compile(r"^(ok|not ok) \d+ - (.*?)(?: # (SKIP|TODO)\b.*)?$")


def fail(message: str) -> NoReturn:
    print(f"error: {message}", file=sys.stderr)
    raise SystemExit(2)


def sh(cmd: list[str], cwd: Path) -> None:
    print("+", " ".join(cmd), f"(in {cwd})", flush=True)
    if subprocess.run(cmd, cwd=cwd).returncode != 0:
        fail(f"command failed: {' '.join(cmd)}")


def setup(sdk: Path, root: Path) -> None:
    if not (sdk / "HEAD").exists() and not (sdk / ".git").exists():
        fail(f"{sdk} is not a git checkout or mirror of sdk-typescript")
    root.mkdir(parents=True, exist_ok=True)
    archive = subprocess.run(
        ["git", "-C", str(sdk), "archive", "HEAD", "packages/test", "packages/test-helpers"],
        capture_output=True,
    )
    if archive.returncode != 0:
        fail(f"git archive failed in {sdk}: {archive.stderr.decode().strip()}")
    subprocess.run(["tar", "-x", "-C", str(root)], input=archive.stdout, check=True)
    deps = {f"@temporalio/{name}": SDK_VERSION for name in PACKAGES} | DEPENDENCIES
    package = {"name": "ts-sdk-tests", "private": True, "dependencies": deps}
    (root / "package.json").write_text(json.dumps(package, indent=2) + "\n")
    (root / "tsconfig.base.json").write_text(json.dumps(TSCONFIG_BASE, indent=2) + "\n")
    sh(["npm", "install", "--no-audit", "--no-fund"], root)
    helpers, tests = root / "packages/test-helpers", root / "packages/test"
    for file, text, replacement in PATCHES:
        source = (root / file).read_text()
        if text not in source and replacement not in source:
            fail(f"{file} is not as expected: cannot apply its patch")
        (root / file).write_text(source.replace(text, replacement))
    # the private @temporalio/test-helpers, built from its source; the monorepo's
    # packages/core-bridge, whose sdk-core protos test-client-connection.ts reads
    links = {
        root / "node_modules/@temporalio/test-helpers": "../../packages/test-helpers",
        root / "packages/core-bridge": "../node_modules/@temporalio/core-bridge",
    }
    for link, target in links.items():
        if not link.exists():
            link.symlink_to(target)
    for folder, extra in ((helpers, {"declaration": True}), (tests, {"resolveJsonModule": True})):
        options = {"outDir": "./lib", "rootDir": "./src", "noUncheckedIndexedAccess": False}
        config = {
            "extends": "../../tsconfig.base.json",
            "compilerOptions": options | extra,
            "include": ["./src/**/*.ts"],
            "exclude": [f"./src/{name}" for name in DROPPED],
        }
        (folder / "tsconfig.json").write_text(json.dumps(config, indent=2) + "\n")
    tsc, tsx = str(root / "node_modules/.bin/tsc"), str(root / "node_modules/.bin/tsx")
    sh([tsc, "-p", "."], helpers)
    sh([tsx, "./scripts/compile-proto.ts"], tests)  # the test package's own script
    sh([tsc, "-p", "."], tests)
    for name, why in DROPPED.items():
        print(f"dropped {name}: {why}")


def parse_tap(text: str) -> dict[str, str]:
    outcomes: dict[str, str] = {}
    for line in text.splitlines():
        match = TEST_LINE.match(line)
        if not match:
            continue
        status, title, directive = match.groups()
        if title.endswith(" hook") and status == "ok":
            continue
        if directive == "SKIP":
            outcome = "skipped"
        elif directive == "TODO":
            outcome = "todo"
        else:
            outcome = "passed" if status == "ok" else "failed"
        # a test ava timed out on is reported again (with its real error) at exit
        if outcomes.get(title) != "failed":
            outcomes[title] = outcome
    return outcomes


def run(root: Path, address: str, out: Path, files: list[str], file_timeout: float) -> None:
    tests = root / "packages/test"
    if not (tests / "lib").is_dir():
        fail(f"{tests / 'lib'} not found: run `setup` first")
    if not re.fullmatch(r"[^:]+:\d+", address):
        fail(f"--address must be HOST:PORT, not {address!r}")
    names = files or sorted(p.stem for p in (tests / "lib").glob("test-*.js"))
    missing = [n for n in names if not (tests / "lib" / f"{n}.js").exists()]
    if missing:
        fail(f"no compiled test file {missing[0]}.js in {tests / 'lib'}")
    env = os.environ | {"TEMPORAL_SERVICE_ADDRESS": address, "RUN_INTEGRATION_TESTS": "true"}
    logs = out.with_suffix(".logs")
    logs.mkdir(parents=True, exist_ok=True)
    result: dict[str, Any] = {"address": address, "version": SDK_VERSION, "files": {}}
    started = time.monotonic()
    for name in names:
        t0 = time.monotonic()
        cmd = [str(root / "node_modules/.bin/ava"), "--tap", "--concurrency", "1"]
        cmd += ["--timeout", "60s", f"lib/{name}.js"]
        log = logs / f"{name}.tap"
        with log.open("w") as sink:  # streamed, so a file cut short keeps what it printed
            proc = subprocess.Popen(
                cmd,
                cwd=tests,
                env=env,
                stdout=sink,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            try:
                code = proc.wait(timeout=file_timeout)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)  # ava and its worker processes
                code = proc.wait()
        text = log.read_text(errors="replace")
        outcomes = parse_tap(text)
        counts = {k: sum(v == k for v in outcomes.values()) for k in ("passed", "failed")}
        seconds = round(time.monotonic() - t0, 1)
        result["files"][name] = {"exit": code, "seconds": seconds, "tests": outcomes}
        print(f"{name}: {counts['passed']} passed, {counts['failed']} failed ({seconds}s)")
        out.write_text(json.dumps(result, indent=1) + "\n")
    result["seconds"] = round(time.monotonic() - started, 1)
    out.write_text(json.dumps(result, indent=1) + "\n")
    print(totals_line(result))


def totals(result: dict[str, Any]) -> dict[str, int]:
    counts = {"passed": 0, "failed": 0, "skipped": 0, "todo": 0}
    for entry in result["files"].values():
        for outcome in entry["tests"].values():
            counts[outcome] += 1
    return counts


def totals_line(result: dict[str, Any]) -> str:
    c = totals(result)
    return (
        f"{result['address']}: {c['passed']} passed, {c['failed']} failed, "
        f"{c['skipped']} skipped, {c['todo']} todo in {len(result['files'])} files "
        f"({result.get('seconds', '?')} s)"
    )


def load(path: Path) -> dict[str, Any]:
    try:
        data: dict[str, Any] = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        fail(f"cannot read {path}: {exc}")
    if "files" not in data:
        fail(f"{path} is not a run's result")
    return data


def compare(first: Path, second: Path) -> None:
    a, b = load(first), load(second)
    for name in sorted(set(a["files"]) | set(b["files"])):
        ta = a["files"].get(name, {}).get("tests", {})
        tb = b["files"].get(name, {}).get("tests", {})
        for title in sorted(set(ta) | set(tb)):
            oa, ob = ta.get(title, "absent"), tb.get(title, "absent")
            if oa != ob:
                print(f"{name} :: {title}: {oa} -> {ob}")
    print(totals_line(a))
    print(totals_line(b))


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        fail(message)


def main() -> None:
    parser = Parser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    p_setup = sub.add_parser("setup", help="export, install and compile the tests")
    p_setup.add_argument("--sdk", type=Path, required=True, help="sdk-typescript git dir")
    p_setup.add_argument("--dir", type=Path, required=True, help="where to set them up")
    p_run = sub.add_parser("run", help="run test files against a server")
    p_run.add_argument("--dir", type=Path, required=True)
    p_run.add_argument("--address", required=True, help="the server, HOST:PORT")
    p_run.add_argument("--out", type=Path, required=True, help="result file (JSON)")
    p_run.add_argument("--file-timeout", type=float, default=900.0, help="seconds per file")
    p_run.add_argument("files", nargs="*", help="test files by name (default: all)")
    p_cmp = sub.add_parser("compare", help="compare two runs' results")
    p_cmp.add_argument("first", type=Path)
    p_cmp.add_argument("second", type=Path)
    args = parser.parse_args()
    if args.command == "setup":
        setup(args.sdk, args.dir)
    elif args.command == "run":
        names = [Path(f).name.removesuffix(".ts").removesuffix(".js") for f in args.files]
        run(args.dir, args.address, args.out, names, args.file_timeout)
    else:
        compare(args.first, args.second)


if __name__ == "__main__":
    main()
