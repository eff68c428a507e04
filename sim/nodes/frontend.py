"""The frontend: stateless; checks the namespace and routes each call to the history
host that owns the workflow's shard (shard = fingerprint of namespace and workflow id,
`common/util.go` WorkflowIDToHistoryShard, via `core.statemachine.shard.shard_for`).
The answer goes from the history host straight back to the caller."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from core import requests as rq
from sim.nodes.base import Base, Request, Router


class Frontend(Base):
    def __init__(self, name: str, cluster: Any, router: Router) -> None:
        super().__init__(name, cluster.kernel, cluster.net, cluster.faults)
        self.cluster = cluster
        self.router = router

    def request(
        self,
        src: str,
        reply: Callable[..., None],
        token: object,
        namespace: str,
        workflow_id: str,
        run_id: str,
        req: Request,
    ) -> None:
        if namespace not in self.cluster.namespaces:
            error = rq.Error(rq.ErrorKind.NOT_FOUND, f"namespace {namespace} not found")
            self.net.send(self.name, src, reply, token, error)
            return
        self.history_call(src, reply, token, namespace, workflow_id, run_id, req, hop=self.name)

    def history_call(
        self,
        src: str,
        reply: Callable[..., None],
        token: object,
        namespace: str,
        workflow_id: str,
        run_id: str,
        req: Request,
        hop: str | None = None,
    ) -> None:
        """Send `req` to the shard owner (from `hop`, default the caller itself)."""
        shard = self.router.shard(namespace, workflow_id)
        owner = self.router.owner.get(shard)
        if owner is None:
            return  # no owner yet: the caller times out and retries
        host = self.cluster.history[owner]
        self.net.send(
            hop or src,
            owner,
            host.request,
            src,
            reply,
            token,
            shard,
            namespace,
            workflow_id,
            run_id,
            req,
        )
