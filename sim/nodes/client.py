"""Clients: start workflows, then signal, query, update, cancel or terminate them.

Each call carries a request id (or update id), so a retry after a lost answer is
deduplicated by history; calls are retried until history answers with something other
than a transient failure. A start uses REJECT_DUPLICATE: a retried start that finds the
workflow already run is answered ALREADY_EXISTS instead of starting a second chain.
"""

from __future__ import annotations

from typing import Any

from core import requests as rq
from core.enums import WorkflowIdReusePolicy
from core.opaque import Opaque
from sim.kernel import MS, SECOND
from sim.nodes.base import Base, Describe, History, Payload, Request, Unavailable
from sim.workloads import Action, Script

CLIENT_TIMEOUT = 2 * SECOND
BACKOFF = 100 * MS
WORKFLOW_TASK_TIMEOUT = 2 * SECOND


class Client(Base):
    def __init__(self, name: str, cluster: Any) -> None:
        super().__init__(name, cluster.kernel, cluster.net, cluster.faults)
        self.cluster = cluster
        self.pending: dict[int, tuple[str, Request, Script | None]] = {}
        self.seq = 0
        self.started = 0
        self.query_names: dict[int, str] = {}  # call token -> the query it asks

    def start_workflow(self, index: int, script: Script) -> None:
        workflow_id = script.workflow_id or f"wf-{index}"
        req = rq.StartWorkflowExecution(
            namespace="default",
            workflow_id=workflow_id,
            run_id=f"run-{index}",
            workflow_type=script.workflow_type,
            task_queue=script.task_queue or self.cluster.workload.task_queue,
            request_id=f"start-{index}",
            input=script.input,
            workflow_task_timeout=WORKFLOW_TASK_TIMEOUT,
            id_reuse_policy=WorkflowIdReusePolicy.REJECT_DUPLICATE,
        )
        self.kernel.log(self.name, f"start {workflow_id}")
        self._call(workflow_id, req, script)

    def _call(self, workflow_id: str, req: Request, script: Script | None = None) -> int:
        self.seq += 1
        self.pending[self.seq] = (workflow_id, req, script)
        self._send(self.seq)
        return self.seq

    def _send(self, token: int) -> None:
        workflow_id, req, _ = self.pending[token]
        fe = self.cluster.frontend
        self.net.send(
            self.name,
            fe.name,
            fe.request,
            self.name,
            self.on_reply,
            token,
            "default",
            workflow_id,
            "",
            req,
        )
        self.kernel.after(CLIENT_TIMEOUT, self._timeout, token, self.epoch)

    def _timeout(self, token: int, epoch: int) -> None:
        if token in self.pending:
            self._send(token)

    def on_reply(self, token: int, answer: Payload) -> None:
        if token not in self.pending:
            return
        if isinstance(answer, Unavailable):
            self.kernel.after(BACKOFF, self._resend, token)
            return
        workflow_id, req, script = self.pending.pop(token)
        if isinstance(req, rq.StartWorkflowExecution) and script is not None:
            self.started += 1
            for action in script.actions:
                self.kernel.after(action.delay, self._act, workflow_id, action)
        elif isinstance(answer, History):
            name = self.query_names.pop(token, "signals")
            value = self.cluster.code.query(answer.workflow_type, answer.events, name)
            self.kernel.log(self.name, f"query {workflow_id} -> {value}")

    def _resend(self, token: int) -> None:
        if token in self.pending:
            self._send(token)

    def _act(self, workflow_id: str, action: Action) -> None:
        self.kernel.log(self.name, f"{action.kind} {workflow_id} {action.n}")
        req: Request
        if action.kind == "signal":
            req = rq.SignalWorkflowExecution(
                action.name or "go",
                f"{workflow_id}/signal-{action.n}",
                action.input if action.input is not None else Opaque.of(action.n),
            )
        elif action.kind == "cancel":
            req = rq.RequestCancelWorkflowExecution(f"{workflow_id}/cancel", "client")
        elif action.kind == "terminate":
            req = rq.TerminateWorkflowExecution("client says stop", "client")
        elif action.kind == "update":
            update_id = f"{workflow_id}/update-{action.n}"
            request = Opaque.of(action.n)
            if action.name and action.input is not None:  # Temporal's update request
                body = {"name": action.name, "args": action.input.value()}
                request = Opaque.of({"meta": {"updateId": update_id}, "input": body})
            req = rq.UpdateWorkflowExecution(update_id, request)
        else:
            req = Describe()
        token = self._call(workflow_id, req)
        if isinstance(req, Describe):
            self.query_names[token] = action.name or "signals"
