"""UpdateWorkflowExecutionOptions on a running run (service/history/api/
updateworkflowoptions/api.go): the requested options are merged into the run's by the
update mask (`mergeWorkflowExecutionOptions`), and when the merge changes them the run
writes WorkflowExecutionOptionsUpdated with the merged versioning override (or
`unsetVersioningOverride`), the caller's identity and the merged priority (none when
the update cleared it), and schedules no workflow task (`MergeAndApply`); an update that
changes nothing writes nothing. Either way the reply is the merged options (`Invoke`
returns `mergedOpts`: no priority once one is cleared, as the event).

- `versioningOverride` replaces the override as a whole (so does the older pair
  `versioningOverride.deployment` and `versioningOverride.behavior`, only together);
  no other part of it may be named. A pinned override that names no version pins the
  run to the version it is pinned to now, and is refused for a run that is not pinned.
- `priority` replaces the priority; `priority.priorityKey`, `priority.fairnessKey` and
  `priority.fairnessWeight` set one field of it.

The new override takes effect at once (`ApplyWorkflowExecutionOptionsUpdatedEvent`):
the run's versioning (versioning_state.py) and the routing of its next tasks, which
read the last override from the history (core/statemachine/matching/run_versioning.py),
and, when it changes the run's effective behavior or version, its `BuildIds` search
attribute (worker_versions.py).
A priority in the event replaces the run's; an update that clears the priority writes
none, and so leaves the run's as it was (the apply sets it only from an event that has
one), and a later update that does not name the priority records that one again.

Not modelled: `timeSkippingConfig` (the adapter refuses it); the server reschedules a
pending workflow task whose version the new override changes, which the model does not.
"""

from __future__ import annotations

from core.enums import VersioningBehavior
from core.fastinit import replace
from core.opaque import JsonValue, Opaque
from core.options_request import OptionsUpdated, UpdateWorkflowExecutionOptions
from core.replies import Error, ErrorKind
from core.statemachine.history.limits import DEFAULT_LIMITS, Limits
from core.statemachine.history.service.attach import options_updated
from core.statemachine.history.service.state import MutableState
from core.statemachine.history.service.txn import Outcome, Txn, finish, unchanged
from core.statemachine.history.service.versioning import override_v32_value
from core.statemachine.history.service.versioning_state import VersioningInfo, version_json
from core.statemachine.history.service.worker_versions import build_ids_after

_WHOLE = ("versioningOverride", "versioningOverride.deployment", "versioningOverride.behavior")
_PRIORITY_FIELDS = ("priorityKey", "fairnessKey", "fairnessWeight")
_BEHAVIOR_NAMES = {  # Go's String() of temporal.api.enums.v1.VersioningBehavior
    VersioningBehavior.UNSPECIFIED: "Unspecified",
    VersioningBehavior.PINNED: "Pinned",
    VersioningBehavior.AUTO_UPGRADE: "AutoUpgrade",
}


def _invalid(message: str) -> Error:
    return Error(ErrorKind.INVALID_ARGUMENT, message)


def _merged(
    current: dict[str, JsonValue], requested: dict[str, JsonValue], paths: tuple[str, ...]
) -> dict[str, JsonValue] | Error:
    merged = dict(current)
    given = set(paths)
    if ("versioningOverride.deployment" in given) != ("versioningOverride.behavior" in given):
        return _invalid("versioning_override fields must be updated together")
    if given & set(_WHOLE):
        merged["versioningOverride"] = requested.get("versioningOverride")
    if any(p.startswith("versioningOverride.") and p not in _WHOLE for p in given):
        return _invalid("versioning_override doesn't support partial updates")
    if "priority" in given:
        merged["priority"] = requested.get("priority")
    for name in _PRIORITY_FIELDS:
        if f"priority.{name}" in given:
            old = merged.get("priority")
            priority = dict(old) if isinstance(old, dict) else {}
            new = requested.get("priority")
            value = new.get(name) if isinstance(new, dict) else None
            if value is None:
                priority.pop(name, None)
            else:
                priority[name] = value
            merged["priority"] = priority
    return {k: v for k, v in merged.items() if v is not None}


def _pin_where_it_is(
    state: MutableState, options: dict[str, JsonValue]
) -> dict[str, JsonValue] | Error:
    """A pinned override with no version names the version the run is pinned to."""
    override = options.get("versioningOverride")
    pinned = override.get("pinned") if isinstance(override, dict) else None
    if not isinstance(pinned, dict) or pinned.get("version") is not None:
        return options
    if not pinned.get("behavior"):
        return options
    run = (state.versioning or VersioningInfo()).effective()
    if run.behavior is not VersioningBehavior.PINNED or run.version is None:
        return Error(
            ErrorKind.FAILED_PRECONDITION,
            "must specify a specific pinned override version because workflow with id "
            f"{state.workflow_id} has behavior {_BEHAVIOR_NAMES[run.behavior]} and is not "
            "yet pinned to any version",
        )
    version = version_json(run.version).value()
    return {**options, "versioningOverride": {"pinned": {**pinned, "version": version}}}


def _current(state: MutableState) -> dict[str, JsonValue]:
    override = state.versioning.override if state.versioning is not None else None
    options: dict[str, JsonValue] = {}
    if override is not None:
        options["versioningOverride"] = override.value()
    if state.priority is not None:
        options["priority"] = state.priority.value()
    return options


def update_options(
    state: MutableState,
    req: UpdateWorkflowExecutionOptions,
    now: int,
    limits: Limits = DEFAULT_LIMITS,
) -> Outcome:
    if not state.running:
        return unchanged(state, Error(ErrorKind.WORKFLOW_COMPLETED, "workflow is closed"))
    txn = Txn(state, now)
    merged = merge_and_apply(txn, req, limits)
    if isinstance(merged, Error):
        return unchanged(state, merged)
    reply = OptionsUpdated(Opaque.of(merged))
    return unchanged(state, reply) if merged == _current(state) else finish(txn, reply)


def merge_and_apply(
    txn: Txn, req: UpdateWorkflowExecutionOptions, limits: Limits = DEFAULT_LIMITS
) -> dict[str, JsonValue] | Error:
    """`MergeAndApply` (service/history/api/updateworkflowoptions/api.go): merge the
    requested options into the run's and, when that changes them, write and apply
    WorkflowExecutionOptionsUpdated; the merged options, or why they were refused. An
    update request uses it, and so does a reset's post-reset operation (reset.py)."""
    state = txn.state
    requested = req.options.value()
    asked = _pin_where_it_is(state, requested if isinstance(requested, dict) else {})
    if isinstance(asked, Error):
        return asked
    current = _current(state)
    merged = _merged(current, asked, req.paths)
    if isinstance(merged, Error) or merged == current:
        return merged
    override = merged.get("versioningOverride")
    fields: dict[str, JsonValue] = {}
    if override is not None:
        # the event keeps the v0.32 form only (`ConvertOverrideToV32` in
        # service/history/historybuilder/history_builder.go): a deprecated `behavior`
        # becomes its oneof, and one of neither form writes no override at all
        v32 = override_v32_value(override)
        if v32 is not None:
            fields["versioningOverride"] = v32
    else:
        fields["unsetVersioningOverride"] = True
    if req.identity:
        fields["identity"] = req.identity
    if "priority" in merged:  # (MergeAndApply writes mergedOpts.GetPriority(): a cleared
        # priority, nil, leaves the field out; a run started with an empty one keeps it)
        fields["priority"] = merged["priority"]
    options_updated(txn, fields)
    apply_updated(txn, fields, limits)
    return merged


def apply_updated(txn: Txn, fields: dict[str, JsonValue], limits: Limits = DEFAULT_LIMITS) -> None:
    """What a WorkflowExecutionOptionsUpdated with these attributes does to the run
    (`updated_fields`). Used by an update (above) and by a reset's reapply (reapply.py)."""
    s = txn.state  # (read before any `set`: the transaction's state is a draft)
    limit = limits.search_attribute_value_size
    changes = updated_fields(s.versioning, s.build_ids, s.completion_callbacks, fields, limit)
    if changes:
        txn.set(**changes)


def updated_fields(
    versioning: VersioningInfo | None,
    build_ids: tuple[str, ...],
    callbacks: Opaque | None,
    fields: dict[str, JsonValue],
    build_ids_limit: int,
) -> dict[str, object]:
    """The run's fields a WorkflowExecutionOptionsUpdated with these attributes changes
    (`ApplyWorkflowExecutionOptionsUpdatedEvent` in mutable_state_impl.go): an override,
    or its unset, replaces the run's, and a new effective behavior or version rewrites
    BuildIds with no stamp and clears the sticky queue; a priority, when the event has
    one, replaces the run's (a cleared one, nil, leaves it as it was); attached
    completion callbacks are added to the run's. The service applies them to a
    transaction, the rebuild to its fold (rebuild_nexus.py)."""
    changes: dict[str, object] = {}
    override = fields.get("versioningOverride")
    if override is not None or fields.get("unsetVersioningOverride") is True:
        info = replace(
            versioning or VersioningInfo(),
            override=Opaque.of(override) if override is not None else None,
        )
        changes["versioning"] = info
        before = (versioning or VersioningInfo()).effective()
        after = info.effective()
        if (before.behavior, before.version) != (after.behavior, after.version):
            # the next workflow task goes to the normal queue (`updateVersioningOverride`
            # clears the sticky queue when the effective behavior or version changes)
            changes["sticky_queue"], changes["sticky_schedule_to_start_timeout"] = "", 0
            rewritten = build_ids_after(build_ids, None, build_ids_limit, after)
            if rewritten != build_ids:
                changes["build_ids"] = rewritten
    priority = fields.get("priority")
    if priority is not None:
        changes["priority"] = Opaque.of(priority)
    added = fields.get("attachedCompletionCallbacks")
    if isinstance(added, list) and added:
        held = callbacks.value() if callbacks is not None else None
        kept = held if isinstance(held, list) else []
        changes["completion_callbacks"] = Opaque.of([*kept, *added])
    return changes
