"""What `run_samples.py` runs for each TypeScript sample: workers, client steps, waits.

Each step is an npm script of the sample's package.json (run as its text, with the
shared node_modules/.bin on PATH) or a shell command of its own. The steps follow the
sample's README.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Step:
    script: str = ""  # an npm script of the sample's package.json
    command: str = ""  # or a shell command run in the sample's folder
    timeout: float = 120.0
    background: bool = False  # started like a worker, stopped at the end
    ready_after: float = 0.0  # a background step: seconds to wait instead of "RUNNING"
    pause: float = 0.0  # seconds to wait after the step


@dataclass(frozen=True)
class Sample:
    name: str
    folder: str
    workers: tuple[Step, ...] = (Step("start"),)
    steps: tuple[Step, ...] = (Step("workflow"),)
    setup: tuple[Step, ...] = ()  # run before the workers start
    search_attributes: tuple[str, ...] = ()  # NAME=TYPE, given to both servers
    namespaces: tuple[str, ...] = ("default",)  # whose runs are read and compared
    dev_flags: tuple[str, ...] = ()  # dynamic config values (KEY=VALUE) for the dev server
    settle: float = 1.0  # seconds to wait before the histories are read
    mask: tuple[str, ...] = ()  # regexes of per-run values in the output, besides ids/times
    drop: tuple[str, ...] = ()  # regexes deleted from the output (per line) before comparing
    ordered_output: bool = True  # False: compare the output's lines as a multiset
    note: str = ""


def _nexus_setup(caller: str, target: str, endpoint: str, queue: str) -> tuple[Step, ...]:
    """The README's set-up: two namespaces and an endpoint (the temporal CLI)."""
    return (
        Step(command=f"temporal operator namespace create --namespace {caller}"),
        Step(command=f"temporal operator namespace create --namespace {target}"),
        Step(
            command=f"temporal operator nexus endpoint create --name {endpoint}"
            f" --target-namespace {target} --target-task-queue {queue}",
            pause=1,
        ),
    )


NEXUS_HELLO = ("my-caller-namespace", "my-target-namespace")
NEXUS_MSG = ("nexus-messaging-caller-namespace", "nexus-messaging-handler-namespace")
NEXUS_STANDALONE = ("my-caller-namespace", "my-handler-namespace")


def _s(*samples: Sample) -> dict[str, Sample]:
    return {s.name: s for s in samples}


SAMPLES = _s(
    Sample("hello-world", "hello-world"),
    Sample("activities-examples", "activities-examples"),
    Sample("activities-cancellation-heartbeating", "activities-cancellation-heartbeating"),
    Sample("child-workflows", "child-workflows"),
    Sample("continue-as-new", "continue-as-new"),
    Sample(
        "early-return",
        "early-return",
        steps=(Step("workflow"),),
    ),
    Sample("eager-workflow-start", "eager-workflow-start", workers=(), steps=(Step("start"),)),
    Sample(
        "signals-queries",
        "signals-queries",
        steps=(
            Step("workflow.start"),
            Step("workflow.query"),
            Step("workflow.signal", pause=1),
            Step("workflow.query"),
            Step("workflow.start", pause=1),
            Step("workflow.cancel", pause=1),
            Step("workflow.query"),
        ),
    ),
    Sample("message-passing-introduction", "message-passing/introduction"),
    Sample("message-passing-execute-update", "message-passing/execute-update"),
    Sample(
        "message-passing-safe-message-handlers",
        "message-passing/safe-message-handlers",
        steps=(Step("simulation"),),
    ),
    Sample(
        "timer-examples",
        "timer-examples",
        steps=(Step("workflow-fast"), Step("workflow-slow"), Step("workflow-updating")),
        mask=(r"(?<=Time left:  )\d+",),
    ),
    Sample("timer-progress", "timer-progress", mask=(r"\d+(\.\d+)?",)),
    Sample("saga", "saga", mask=(r"c[a-z0-9]{24}",)),
    Sample(
        "mutex",
        "mutex",
        steps=(
            Step(command="ts-node src/start-test-workflow.ts r1", background=True, ready_after=0.1),
            Step(command="ts-node src/start-test-workflow.ts r1"),
        ),
        mask=(r"(?<=finished after )\d+",),
        settle=3,
    ),
    Sample("patching-api", "patching-api", settle=3),
    Sample("sleep-for-days", "sleep-for-days", steps=(Step("workflow", timeout=15),)),
    Sample(
        "state",
        "state",
        steps=(
            Step("workflow.start"),
            Step("workflow.signal", pause=1),
            Step("workflow.query"),
            Step("workflow.cancel", pause=1),
        ),
    ),
    Sample("batch-sliding-window", "batch-sliding-window"),
    Sample("dsl-interpreter", "dsl-interpreter", steps=(Step("workflow1"), Step("workflow2"))),
    Sample("polling-infrequent", "polling/infrequent", steps=(Step("workflow", timeout=300),)),
    Sample("custom-logger", "custom-logger"),
    Sample("sinks", "sinks"),
    Sample("ejson", "ejson"),
    Sample("worker-specific-task-queues", "worker-specific-task-queues"),
    Sample("encryption", "encryption", mask=(r"<Buffer [^>]*>",)),
    Sample(
        "search-attributes",
        "search-attributes",
        setup=(Step("create-attributes", pause=1),),
        steps=(Step("workflow", timeout=30),),
        # the attributes come in Go's map order from the dev server: compare as a set
        ordered_output=False,
        drop=(r",$",),  # so the line that comes last has no comma
        note="its workflow upserts CustomDoubleField, which create-attributes never adds",
    ),
    Sample(
        "schedules",
        "schedules",
        steps=(
            Step("schedule.start", pause=1),
            Step("schedule.trigger", pause=2),
            Step("schedule.list"),
            Step("schedule.go-faster"),
            Step("schedule.pause"),
            Step("schedule.describe"),
            Step("schedule.unpause"),
            Step("schedule.backfill", pause=2),
            Step("schedule.update"),
            Step("schedule.delete"),
        ),
        settle=2,
    ),
    Sample(
        "cron-workflows",
        "cron-workflows",
        steps=(Step("workflow", timeout=70),),
    ),
    Sample(
        "expense",
        "expense",
        steps=(
            Step("server", background=True, ready_after=8),
            Step("workflow-approve"),
            Step("workflow-timeout", timeout=60),
        ),
    ),
    Sample(
        "nexus-hello",
        "nexus-hello",
        setup=_nexus_setup(*NEXUS_HELLO, "my-nexus-endpoint-name", "my-handler-task-queue"),
        workers=(Step("start.service"), Step("start.caller")),
        namespaces=NEXUS_HELLO,
    ),
    Sample(
        "nexus-cancellation",
        "nexus-cancellation",
        setup=_nexus_setup(*NEXUS_HELLO, "my-nexus-endpoint-name", "my-handler-task-queue"),
        workers=(Step("start.service"), Step("start.caller")),
        namespaces=NEXUS_HELLO,
    ),
    Sample(
        "nexus-messaging-callerpattern",
        "nexus-messaging",
        setup=_nexus_setup(
            *NEXUS_MSG, "nexus-messaging-nexus-endpoint", "nexus-messaging-handler-task-queue"
        ),
        workers=(Step("start.callerpattern.service"), Step("start.callerpattern.caller")),
        steps=(Step("workflow.callerpattern"),),
        namespaces=NEXUS_MSG,
    ),
    Sample(
        "nexus-messaging-ondemandpattern",
        "nexus-messaging",
        setup=_nexus_setup(
            *NEXUS_MSG, "nexus-messaging-nexus-endpoint", "nexus-messaging-handler-task-queue"
        ),
        workers=(Step("start.ondemandpattern.service"), Step("start.ondemandpattern.caller")),
        steps=(Step("workflow.ondemandpattern"),),
        namespaces=NEXUS_MSG,
    ),
    Sample(
        "standalone-activity",
        "standalone-activity",
        steps=(Step("execute"), Step("list")),
        dev_flags=("activity.enableStandalone=true", "history.enableChasm=true"),
        mask=(r"^\S+(?= \|)",),  # the activity ids (a nanoid, then -2 and -3)
        ordered_output=False,
    ),
    Sample(
        "nexus-standalone-operations",
        "nexus-standalone-operations",
        setup=_nexus_setup(*NEXUS_STANDALONE, "my-nexus-endpoint", "nexus-handler-queue"),
        workers=(
            Step(command=f"TEMPORAL_NAMESPACE={NEXUS_STANDALONE[1]} ts-node src/worker/worker.ts"),
        ),
        steps=(Step(command=f"TEMPORAL_NAMESPACE={NEXUS_STANDALONE[0]} ts-node src/starter.ts"),),
        namespaces=NEXUS_STANDALONE,
        dev_flags=("nexusoperation.enableStandalone=true", "history.enableChasm=true"),
    ),
    Sample(
        "worker-versioning",
        "worker-versioning",
        workers=(Step("worker1"), Step("worker1_1"), Step("worker2")),
        steps=(Step("example", timeout=180),),
    ),
    Sample("activities-dependency-injection", "activities-dependency-injection"),
    Sample("hello-world-js", "hello-world-js"),
    Sample("grpc-calls", "grpc-calls", mask=(r"nanos: \d+",)),
    Sample("empty", "empty"),
    Sample(
        "env-config",
        "env-config",
        workers=(),
        steps=(Step("load-default"), Step("load-profile")),
    ),
    Sample("production", "production"),
    Sample(
        "snippets",
        "snippets",
        mask=(r"(?<=workflow-)[\w-]{21}\b",),
        note="its workflow fails at random (Math.random() > 0.4), retried up to 3 attempts",
    ),
    Sample(
        "scratchpad",
        "scratchpad",
        workers=(),
        steps=(Step("start"),),
        note="exits 1 on both servers: its bundle imports @temporalio/envconfig, which"
        " its ignoreModules does not list",
    ),
    Sample("vscode-debugger", "vscode-debugger"),
    Sample(
        "workflow-streams",
        "workflow-streams",
        steps=(
            Step("workflow.publisher"),
            Step("workflow.reconnecting"),
            Step("workflow.external"),
            Step("workflow.ticker"),
        ),
        # the workflow ids' nanoid; the reconnecting step's side column samples the
        # stream's counters on a clock; the subscribers print concurrently
        mask=(r"(?<=workflow-stream-)(\w+)-[\w-]{8}\b", r"(?<=avail=)\s*\d+"),
        ordered_output=False,
        note="its own node_modules: workflow-streams 1.23.0 pins the other packages at"
        " 1.23.0; the LLM scenario needs an OpenAI key and is not run",
    ),
    Sample(
        "interceptors-opentelemetry",
        "interceptors-opentelemetry",
        # the console span exporter's trace and span ids, times and durations
        mask=(r"\b[0-9a-f]{16}(?:[0-9a-f]{16})?\b", r"\b\d{4,}\b", r"\[ \d+, \d+ \]"),
        ordered_output=False,
        note="its own node_modules: interceptors-opentelemetry-v2 1.23.0 pins common 1.23.0",
    ),
)
